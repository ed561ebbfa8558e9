#ifndef STACKLAB_CLIBEDIT_SHIM_H
#define STACKLAB_CLIBEDIT_SHIM_H
// libedit's readline-compatible API. On Linux the header is <editline/readline.h> (<readline/readline.h> there is GNU
// readline, a different library); on macOS the SDK's <readline/readline.h> is libedit.
#include <stdio.h>
#include <stdlib.h>
#ifdef __APPLE__
#include <readline/readline.h>
#include <readline/history.h>
#else
#include <editline/readline.h>
#endif
#endif
