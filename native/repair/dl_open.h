// Opening an optional shared library at run time (libsrt, librist): the first of several
// file names that loads, then its symbols one by one, the first missing one named.
#pragma once
#include <dlfcn.h>

#include <string>
#include <type_traits>
#include <vector>

namespace ipcast {

// dlopen of the first of `names` that loads; nullptr with every dlerror in *why otherwise.
inline void* DlopenFirst(const std::vector<std::string>& names, std::string* why) {
  std::string errors;
  for (const auto& n : names) {
    void* h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    const char* e = dlerror();
    if (!errors.empty()) errors += "; ";
    errors += e ? e : n;
  }
  *why = errors;
  return nullptr;
}

// sym(fn, "name") fills a function pointer from the library; ok() is false once one was
// missing, and *why names the first.
class DlSymbols {
 public:
  DlSymbols(void* handle, const char* library, std::string* why) : h_(handle), library_(library), why_(why) {}
  template <class F>
  void operator()(F& fn, const char* name) {
    void* p = dlsym(h_, name);
    if (!p && ok_) {
      ok_ = false;
      *why_ = std::string("symbol ") + name + " not found in " + library_;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  }
  bool ok() const { return ok_; }

 private:
  void* h_;
  const char* library_;
  std::string* why_;
  bool ok_ = true;
};

}  // namespace ipcast
