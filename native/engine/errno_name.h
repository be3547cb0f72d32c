// errno -> its symbolic name ("EPIPE"), for error messages and the `code` of JS errors.
// Does not need glibc's strerrorname_np (musl and older glibc lack it).
#ifndef IPCAST_ERRNO_NAME_H
#define IPCAST_ERRNO_NAME_H

#ifdef __cplusplus
extern "C" {
#endif

/* e > 0 (an errno value, never negated). Writes "E<number>" into buf for names it does not
   know; returns a static string or buf. */
const char* ipcast_errno_name(int e, char* buf, unsigned long cap);

#ifdef __cplusplus
}
#endif

#endif
