/* util.h: exit codes, error text, allocation that cannot fail, string buffers. */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* The one exit-code vocabulary of every tool (doc/DESIGN.md section 7.6). */
enum {
	CW_EXIT_OK = 0,    /* every record got its outcome */
	CW_EXIT_FAIL = 1,  /* some work failed: service down, bad lines, write error */
	CW_EXIT_USAGE = 2  /* usage or configuration */
};

/*
 * Error text a library function leaves for its caller, who decides whether to
 * warn, count or exit. Messages never contain secrets or tokens.
 */
typedef struct cw_err {
	char msg[512];
} cw_err;

/*
 * How a call that can fail in two ways says which; e says why. Either what
 * the caller was given is wrong (a tool exits CW_EXIT_USAGE: fix the
 * configuration) or a service or a file let it down (CW_EXIT_FAIL: try again).
 */
#define CW_ERR_SERVICE (-1)
#define CW_ERR_CONFIG  (-2)

/* Formats into e (if e is not NULL); always returns -1 so callers can
 * `return cw_seterr(e, ...)`. */
int cw_seterr(cw_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Allocation that exits 1 with "TOOL: out of memory" rather than return NULL.
 * The caller owns and frees (free(3)) what they return. */
/* strcmp(3) and strncmp(3) with ASCII letters folded to lower case. Keys
 * and config names are matched this way, never by strcasecmp(3), which
 * follows the locale. */
int cw_ascii_casecmp(const char *a, const char *b);
int cw_ascii_ncasecmp(const char *a, const char *b, size_t n);
/* 1 if s[0..n) is one or more ASCII digits, else 0. */
int cw_ascii_digits(const char *s, size_t n);

void *cw_malloc(size_t n);
void *cw_calloc(size_t n, size_t size);
void *cw_realloc(void *p, size_t n);
char *cw_strdup(const char *s);
char *cw_strndup(const char *s, size_t n);
char *cw_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wipes a NUL-terminated secret before freeing it. NULL is fine. */
void cw_secret_free(char *s);

/* A growable byte string, always NUL-terminated when len > 0 or after any append.
 * Owned by whoever declared it; release with cw_buf_free() or take the bytes with
 * cw_buf_detach() (then the caller frees them). */
struct cw_buf {
	char *data;
	size_t len;
	size_t cap;
};
#define CW_BUF_INIT {NULL, 0, 0}
void cw_buf_add(struct cw_buf *b, const void *p, size_t n);
void cw_buf_adds(struct cw_buf *b, const char *s);
void cw_buf_addf(struct cw_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cw_buf_vaddf(struct cw_buf *b, const char *fmt, va_list ap);
void cw_buf_reset(struct cw_buf *b);   /* len = 0, keeps the memory */
char *cw_buf_detach(struct cw_buf *b); /* never NULL; b is empty afterwards */
void cw_buf_free(struct cw_buf *b);
/* Like cw_buf_free, but wipes the bytes first: for buffers that held secrets. */
void cw_buf_wipe(struct cw_buf *b);

#endif
