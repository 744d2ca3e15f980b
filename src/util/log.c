/*
 * The logger (see log.h): a klog-style header, one write per line.
 */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"

struct log {
    struct log_config cfg;
    pthread_mutex_t lock; /* one line at a time to out and sink */
};

int log_new(const struct log_config *cfg, struct log **out, struct err *e)
{
    *out = NULL;
    if ((int)cfg->threshold < 0 || (int)cfg->threshold > LOG_LEVEL_DEBUG)
        return err_set(e, -EINVAL, "log: no level %d", (int)cfg->threshold);
    struct log *lg = alloc_calloc(1, sizeof *lg);
    lg->cfg = *cfg;
    if (!lg->cfg.threshold)
        lg->cfg.threshold = LOG_LEVEL_INFO;
    if (!lg->cfg.now_ns)
        lg->cfg.now_ns = clock_realtime_now;
    pthread_mutex_init(&lg->lock, NULL);
    *out = lg;
    return 0;
}

void log_free(struct log *lg)
{
    if (!lg)
        return;
    pthread_mutex_destroy(&lg->lock);
    free(lg);
}

bool log_enabled(const struct log *lg, enum log_level level)
{
    return lg && level >= LOG_LEVEL_ERROR && level <= lg->cfg.threshold;
}

char log_level_letter(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR: return 'E';
    case LOG_LEVEL_WARNING: return 'W';
    case LOG_LEVEL_INFO: return 'I';
    case LOG_LEVEL_DEBUG: return 'D';
    }
    return '?';
}

/* The file's name without its folders, as klog prints it. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "E1206 19:52:05.123456   12345 file.c:123] " into buf; its length. */
static size_t format_header(const struct log *lg, enum log_level level, const char *file,
                            int line, char *buf, size_t size)
{
    int64_t ns = lg->cfg.now_ns(lg->cfg.clock_ctx);
    time_t secs = (time_t)(ns / NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(buf, size, "%c%02d%02d %02d:%02d:%02d.%06ld %7ld %s:%d] ",
                     log_level_letter(level), tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)(ns % NS_PER_SEC / NS_PER_US), (long)gettid(),
                     base_name(file), line);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void emit(struct log *lg, enum log_level level, char *text, size_t len)
{
    pthread_mutex_lock(&lg->lock);
    if (lg->cfg.sink)
        lg->cfg.sink(lg->cfg.sink_ctx, level, text, len);
    if (lg->cfg.out) {
        text[len] = '\n';
        fwrite(text, 1, len + 1, lg->cfg.out);
        fflush(lg->cfg.out);
        text[len] = '\0';
    }
    pthread_mutex_unlock(&lg->lock);
}

void log_write(struct log *lg, enum log_level level, const char *file, int line,
               const char *fmt, ...)
{
    if (!log_enabled(lg, level))
        return;
    /* One byte is kept for the newline emit puts in place of the NUL. */
    char text[LOG_LINE_MAX + 1];
    size_t len = format_header(lg, level, file, line, text, LOG_LINE_MAX);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text + len, LOG_LINE_MAX - len, fmt, ap);
    va_end(ap);
    size_t start = len;
    if (n > 0)
        len += (size_t)n < LOG_LINE_MAX - len ? (size_t)n : LOG_LINE_MAX - len - 1;
    for (size_t i = start; i < len; i++)
        if (text[i] == '\n' || text[i] == '\r')
            text[i] = ' ';
    emit(lg, level, text, len);
}
