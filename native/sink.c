// Placeholder until the IPC transports issue lands the real sink.
#include <stdio.h>
int main(void) {
  fprintf(stderr, "ipcast-sink: not built yet (IPC transports issue)\n");
  return 2;
}
