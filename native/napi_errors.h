// The one errno -> JS Error factory of the addon. Node's convention: `code` is the errno
// name ("EPIPE"), `errno` the negated number (as in Node's own system errors), `syscall`
// the call that failed. Callers pass the positive errno value.
#ifndef IPCAST_NAPI_ERRORS_H
#define IPCAST_NAPI_ERRORS_H

#include <napi.h>

#include <string>

namespace ipcast {

std::string ErrnoName(int e);
Napi::Error ErrnoError(Napi::Env env, const std::string& syscall, int e, const std::string& address = "", int port = -1);

}  // namespace ipcast

#endif
