#include "multicast_pin.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ipcast {
namespace rist {

namespace {

thread_local PinScope* current = nullptr;

#if defined(__x86_64__)
constexpr unsigned kJumpSlot = R_X86_64_JUMP_SLOT, kGlobDat = R_X86_64_GLOB_DAT;
#elif defined(__aarch64__)
constexpr unsigned kJumpSlot = R_AARCH64_JUMP_SLOT, kGlobDat = R_AARCH64_GLOB_DAT;
#else
constexpr unsigned kJumpSlot = ~0u, kGlobDat = ~0u;
#endif

struct Relro {
  ElfW(Addr) base;
  uintptr_t start = 0, end = 0;
};

// The library's PT_GNU_RELRO range: a slot inside it is read-only again once patched.
int FindRelro(struct dl_phdr_info* info, size_t, void* arg) {
  auto* r = static_cast<Relro*>(arg);
  if (info->dlpi_addr != r->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& p = info->dlpi_phdr[i];
    if (p.p_type == PT_GNU_RELRO) {
      r->start = info->dlpi_addr + p.p_vaddr;
      r->end = r->start + p.p_memsz;
    }
  }
  return 1;
}

}  // namespace

int PinNewSocket(int domain, int type, int protocol) {
  int fd = socket(domain, type, protocol);
  PinScope* s = current;
  if (fd < 0 || !s || (type & 0xf) != SOCK_DGRAM) return fd;
  int err = 0;
  if (domain != AF_INET) {
    err = EAFNOSUPPORT;  // an IPv4 group's socket is IPv4; anything else is not librist's peer
  } else {
    unsigned char ttl = (unsigned char)s->ttl_;
    in_addr back{};
    socklen_t n = sizeof back;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &s->iface_, sizeof s->iface_) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
        getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &back, &n) != 0)
      err = errno;
    else if (back.s_addr != s->iface_.s_addr)
      err = EADDRNOTAVAIL;
  }
  if (err == 0) {
    s->pinned_++;
    return fd;
  }
  if (s->failure_.empty()) s->failure_ = std::string("cannot pin librist's socket to the interface: ") + strerror(err);
  close(fd);
  errno = err;
  return -1;
}

PinScope::PinScope(in_addr iface, int ttl) : iface_(iface), ttl_(ttl) { current = this; }
PinScope::~PinScope() { current = nullptr; }

bool HookSocket(void* dl_handle, std::string* why) {
  if (kJumpSlot == ~0u) {
    *why = "pinning librist's sockets is not implemented on this architecture";
    return false;
  }
  struct link_map* lm = nullptr;
  if (dlinfo(dl_handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_ld) {
    *why = "cannot read librist's dynamic section";
    return false;
  }
  const ElfW(Addr) base = lm->l_addr;
  // glibc has already relocated most of these in place; others keep the file's offsets.
  auto at = [base](ElfW(Addr) p) { return p >= base ? p : base + p; };
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* tables[2] = {nullptr, nullptr};
  size_t sizes[2] = {0, 0};
  for (const ElfW(Dyn)* d = lm->l_ld; d->d_tag != DT_NULL; d++) {
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = reinterpret_cast<const ElfW(Sym)*>(at(d->d_un.d_ptr)); break;
      case DT_STRTAB: strtab = reinterpret_cast<const char*>(at(d->d_un.d_ptr)); break;
      case DT_JMPREL: tables[0] = reinterpret_cast<const ElfW(Rela)*>(at(d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: sizes[0] = d->d_un.d_val; break;
      case DT_RELA: tables[1] = reinterpret_cast<const ElfW(Rela)*>(at(d->d_un.d_ptr)); break;
      case DT_RELASZ: sizes[1] = d->d_un.d_val; break;
      default: break;
    }
  }
  if (!symtab || !strtab) {
    *why = "librist has no symbol table";
    return false;
  }
  Relro relro{base};
  dl_iterate_phdr(FindRelro, &relro);
  long page = sysconf(_SC_PAGESIZE);
  int patched = 0;
  for (int t = 0; t < 2; t++) {
    if (!tables[t]) continue;
    for (size_t i = 0; i < sizes[t] / sizeof(ElfW(Rela)); i++) {
      const ElfW(Rela)& r = tables[t][i];
      unsigned type = ELF64_R_TYPE(r.r_info);
      if (type != kJumpSlot && type != kGlobDat) continue;
      if (strcmp(strtab + symtab[ELF64_R_SYM(r.r_info)].st_name, "socket") != 0) continue;
      auto* slot = reinterpret_cast<void**>(base + r.r_offset);
      auto addr = reinterpret_cast<uintptr_t>(slot);
      void* first = reinterpret_cast<void*>(addr & ~(uintptr_t)(page - 1));
      if (mprotect(first, page, PROT_READ | PROT_WRITE) != 0) {
        *why = std::string("cannot patch librist's import of socket(): ") + strerror(errno);
        return false;
      }
      *slot = reinterpret_cast<void*>(&PinNewSocket);
      if (addr >= relro.start && addr < relro.end) mprotect(first, page, PROT_READ);
      patched++;
    }
  }
  if (patched == 0) {
    *why = "librist does not import socket() through a slot ipcast can find";
    return false;
  }
  return true;
}

}  // namespace rist
}  // namespace ipcast
