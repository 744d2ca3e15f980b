/*
 * The dashboard's built-in files by the path the browser asks for: the
 * page at "/", its style and script by their file names.
 */
#include "controller/dashboard.h"

#include <string.h>

#include "controller/dashboard_assets.h"

static const struct {
    const char *path, *file, *type;
} assets[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/dashboard.css", "dashboard.css", "text/css; charset=utf-8"},
    {"/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
};

/* The built-in file whose name ends in /file. */
static const char *file_text(const char *file)
{
    const struct fileset *set = dashboard_assets();
    size_t n = strlen(file);
    for (size_t i = 0; i < set->n; i++) {
        const char *name = set->files[i].name;
        size_t len = strlen(name);
        if (len > n && name[len - n - 1] == '/' && strcmp(name + len - n, file) == 0)
            return set->files[i].text;
    }
    return NULL;
}

const char *dashboard_asset(const char *path, const char **content_type)
{
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (strcmp(path, assets[i].path) == 0) {
            *content_type = assets[i].type;
            return file_text(assets[i].file);
        }
    return NULL;
}
