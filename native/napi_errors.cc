#include "napi_errors.h"

#include <string.h>

extern "C" {
#include "engine/errno_name.h"
}

namespace ipcast {

std::string ErrnoName(int e) {
  char buf[24];
  return ipcast_errno_name(e, buf, sizeof buf);
}

Napi::Error ErrnoError(Napi::Env env, const std::string& syscall, int e, const std::string& address, int port) {
  std::string name = ErrnoName(e);
  Napi::Error err = Napi::Error::New(env, syscall + " failed, " + name + ": " + strerror(e));
  err.Set("code", Napi::String::New(env, name));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  if (!address.empty()) err.Set("address", Napi::String::New(env, address));
  if (port >= 0) err.Set("port", Napi::Number::New(env, port));
  return err;
}

}  // namespace ipcast
