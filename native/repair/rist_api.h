// The few pieces of librist's C API (librist 0.2, ABI 4) that ipcast uses, declared here so
// that the addon builds without librist-dev and runs without librist: the library is opened
// with dlopen on first use (rist::Load). Layouts copied from librist 0.2.7's headers.h and
// stats.h (struct rist_data_block, the first two fields of struct rist_stats).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <string>

namespace ipcast {
namespace rist {

struct Ctx;          // struct rist_ctx
struct Peer;         // struct rist_peer
struct PeerConfig;   // struct rist_peer_config (allocated by rist_parse_address2)
struct LogSettings;  // struct rist_logging_settings

constexpr int PROFILE_SIMPLE = 0;
constexpr int LOG_ERROR = 3, LOG_WARN = 4;

struct DataBlock {
  const void* payload;
  size_t payload_len;
  uint64_t ts_ntp;
  uint16_t virt_src_port;
  uint16_t virt_dst_port;
  Peer* peer;
  uint32_t flow_id;
  uint64_t seq;
  uint32_t flags;
  void* ref;
};

struct StatsHead {  // struct rist_stats begins so
  uint32_t json_size;
  char* stats_json;
};

struct Api {
  int (*sender_create)(Ctx**, int profile, uint32_t flow_id, LogSettings*);
  int (*receiver_create)(Ctx**, int profile, LogSettings*);
  int (*parse_address2)(const char* url, PeerConfig**);
  int (*peer_config_free2)(PeerConfig**);
  int (*peer_create)(Ctx*, Peer**, const PeerConfig*);
  int (*start)(Ctx*);
  int (*destroy)(Ctx*);
  int (*sender_data_write)(Ctx*, const DataBlock*);
  int (*receiver_data_read2)(Ctx*, DataBlock**, int timeout_ms);
  void (*receiver_data_block_free2)(DataBlock**);
  int (*stats_callback_set)(Ctx*, int interval_ms, int (*cb)(void*, const StatsHead*), void*);
  int (*stats_free)(const StatsHead*);
  int (*logging_set)(LogSettings**, int level, int (*cb)(void*, int, const char*), void*, char*, void*);
  int (*logging_settings_free2)(LogSettings**);
  const char* (*version)(void);
  // Why librist's sockets cannot be pinned to an interface ("" if they can; multicast_pin.h).
  std::string pin_unavailable;
};

const Api* Load(const std::string& name, std::string* why);

}  // namespace rist
}  // namespace ipcast
