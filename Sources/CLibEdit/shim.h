#ifndef STACKLAB_CLIBEDIT_SHIM_H
#define STACKLAB_CLIBEDIT_SHIM_H
// libedit, native API (histedit.h), plus the readline-compatible header for completeness. On Linux the readline
// header is <editline/readline.h> (<readline/readline.h> there is GNU readline, a different library); on macOS the
// SDK's <readline/readline.h> is libedit.
//
// el_set, el_get and history() are variadic, which Swift cannot call: each use stacklab needs is wrapped below in a
// static inline function with a fixed signature.
#include <stdio.h>
#include <stdlib.h>
#include <histedit.h>
#ifdef __APPLE__
#include <readline/readline.h>
#else
#include <editline/readline.h>
#endif

typedef unsigned char (*sh_el_function)(EditLine *, int);
typedef char *(*sh_prompt_function)(EditLine *);
typedef int (*sh_getc_function)(EditLine *, wchar_t *);

static inline EditLine *sh_init(const char *program) { return el_init(program, stdin, stdout, stderr); }

/// The prompt function; characters between two `literal` characters are escape codes that take no room on screen.
static inline int sh_set_prompt(EditLine *el, sh_prompt_function fn, char literal) {
    return el_set(el, EL_PROMPT_ESC, fn, literal);
}
static inline int sh_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
static inline int sh_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }
static inline int sh_set_clientdata(EditLine *el, void *data) { return el_set(el, EL_CLIENTDATA, data); }
static inline void *sh_get_clientdata(EditLine *el) {
    void *data = NULL;
    el_get(el, EL_CLIENTDATA, &data);
    return data;
}
static inline int sh_addfn(EditLine *el, const char *name, const char *help, sh_el_function fn) {
    return el_set(el, EL_ADDFN, name, help, fn);
}
static inline int sh_bind(EditLine *el, const char *key, const char *function) {
    return el_set(el, EL_BIND, key, function, NULL);
}
/// `setty -d -isig`: in edit mode, Ctrl-C is a key (bound to a function), not a signal.
static inline int sh_setty(EditLine *el, const char *mode, const char *flag) {
    return el_set(el, EL_SETTY, mode, flag, NULL);
}
static inline int sh_set_history(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }
/// The function libedit reads each character with (stacklab's waits for the keyboard and for output to show).
static inline int sh_set_getcfn(EditLine *el, sh_getc_function fn) { return el_set(el, EL_GETCFN, fn); }
/// Draws the prompt and the line being edited again, from the cursor's line (which must be at its column 0).
static inline int sh_refresh(EditLine *el) { return el_set(el, EL_REFRESH); }

static inline int sh_history_setsize(History *h, int size) {
    HistEvent ev;
    return history(h, &ev, H_SETSIZE, size);
}
static inline int sh_history_setunique(History *h, int unique) {
    HistEvent ev;
    return history(h, &ev, H_SETUNIQUE, unique);
}
static inline int sh_history_enter(History *h, const char *line) {
    HistEvent ev;
    return history(h, &ev, H_ENTER, line);
}
static inline int sh_history_load(History *h, const char *path) {
    HistEvent ev;
    return history(h, &ev, H_LOAD, path);
}
static inline int sh_history_save(History *h, const char *path) {
    HistEvent ev;
    return history(h, &ev, H_SAVE, path);
}

// el_function return codes (histedit.h macros, repeated as constants Swift imports).
static const unsigned char SH_CC_NORM = CC_NORM;
static const unsigned char SH_CC_NEWLINE = CC_NEWLINE;
static const unsigned char SH_CC_EOF = CC_EOF;
static const unsigned char SH_CC_REFRESH = CC_REFRESH;
static const unsigned char SH_CC_REDISPLAY = CC_REDISPLAY;
static const unsigned char SH_CC_REFRESH_BEEP = CC_REFRESH_BEEP;
static const unsigned char SH_CC_ERROR_VALUE = CC_ERROR;
#endif
