/*
 * One-line pictures of a GPU's memory slices, for the CLI and the demo
 * (see placement_picture in placement.h). Every memory slice is a cell of
 * the same width, so the pictures of GPUs of one model line up under each
 * other and a slice's width shows its size.
 */
#include "core/placement.h"

#include <stdio.h>
#include <string.h>

#define CELL 6 /* characters per memory slice, separators excluded */

/* "1g.10gb+me" -> "1g+me": the compute part and any "+" suffix. */
static void short_name(const char *name, char *out, size_t size)
{
    const char *plus = strchr(name, '+');
    int head = (int)strcspn(name, ".");
    snprintf(out, size, "%.*s%s", head, name, plus ? plus : "");
}

/* The first of "name #owner", "short #owner", "name", "short" that fits
 * in width after the mark (none when NUL): the owner's tag is what ties a
 * slice to the lines that name its holder, so it goes last; the short
 * name cut to width when none fits. */
static void slice_label(const struct gpu_occupancy *o, const struct occupied_slice *s,
                        char mark, unsigned width, char *out, size_t size)
{
    const char *name = o->model->profiles[s->profile].name;
    char shorter[32], tag[16] = "", prefix[2] = {mark, '\0'};
    short_name(name, shorter, sizeof shorter);
    if (s->owner)
        snprintf(tag, sizeof tag, " #%u", (unsigned)s->owner);
    width -= mark != '\0';
    const char *forms[][2] = {{name, tag}, {shorter, tag}, {name, ""}, {shorter, ""}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strlen(forms[i][0]) + strlen(forms[i][1]) <= width) {
            snprintf(out, size, "%s%s%s", prefix, forms[i][0], forms[i][1]);
            return;
        }
    snprintf(out, size, "%s%.*s", prefix, (int)width, shorter);
}

size_t placement_picture(const struct gpu_occupancy *o, char *buf, size_t size)
{
    return placement_picture_marked(o, NULL, buf, size);
}

size_t placement_picture_marked(const struct gpu_occupancy *o,
                                const char marks[MIG_MAX_MEMORY_SLICES], char *buf, size_t size)
{
    char line[PLACEMENT_PICTURE_MAX];
    size_t len = 0;
    line[len++] = '[';
    for (unsigned i = 0; o && o->model && i < o->model->memory_slices;) {
        const struct occupied_slice *s = occupancy_slice_at(o, i);
        unsigned span = s ? o->model->profiles[s->profile].memory_slices : 1;
        unsigned width = CELL * span + span - 1;
        char label[CELL * MIG_MAX_MEMORY_SLICES + MIG_MAX_MEMORY_SLICES];
        if (s)
            slice_label(o, s, marks ? marks[s->start] : '\0', width, label, sizeof label);
        else
            strcpy(label, "..");
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%-*s", i ? "|" : "",
                                (int)width, label);
        i += span;
    }
    line[len++] = ']';
    line[len] = '\0';
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, line, n);
        buf[n] = '\0';
    }
    return len;
}
