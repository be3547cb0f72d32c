// The few pieces of libsrt's C API (srt/srt.h, SRT 1.4/1.5) that ipcast uses, declared here
// so that the addon builds without libsrt-*-dev and runs without libsrt: the library is
// opened with dlopen on first use (srt_api_load) and every function is looked up by name.
// Values and the statistics layout are copied from srt.h 1.5.1; the library promises that
// CBytePerfMon only grows at its end, so an older 1.4 library fills a prefix of it.
#pragma once
#include <stdint.h>
#include <sys/socket.h>

#include <string>

namespace ipcast {
namespace srt {

typedef int32_t SRTSOCKET;
constexpr SRTSOCKET INVALID_SOCK = -1;
constexpr int ERROR = -1;

// SRT_SOCKOPT values used.
enum Opt : int {
  O_SNDSYN = 1,
  O_RCVSYN = 2,
  O_SNDBUF = 5,
  O_RCVBUF = 6,
  O_LINGER = 7,
  O_UDP_RCVBUF = 9,
  O_RENDEZVOUS = 12,
  O_RCVTIMEO = 14,
  O_REUSEADDR = 15,
  O_LATENCY = 23,
  O_PASSPHRASE = 26,
  O_PBKEYLEN = 27,
  O_CONNTIMEO = 36,
  O_STREAMID = 46,
  O_PAYLOADSIZE = 49,
  O_TRANSTYPE = 50,
  O_PEERIDLETIMEO = 55,
  O_PACKETFILTER = 60,
};

enum SockStatus { S_INIT = 1, S_OPENED, S_LISTENING, S_CONNECTING, S_CONNECTED, S_BROKEN, S_CLOSING, S_CLOSED, S_NONEXIST };

constexpr int EPOLL_IN = 0x1, EPOLL_OUT = 0x4, EPOLL_ERR = 0x8;
constexpr int EPOLL_ENABLE_EMPTY = 1;
constexpr int E_ASYNCSND = 6001;  // SRT_EASYNCSND: live mode's send buffer is full
constexpr int E_ASYNCRCV = 6002;  // SRT_EASYNCRCV: nothing to read now
constexpr int LIVE_MAX_PAYLOAD = 1456;

struct EpollEvent {
  SRTSOCKET fd;
  int events;
};

// struct CBytePerfMon of srt.h 1.5.1, field for field.
struct Stats {
  int64_t msTimeStamp, pktSentTotal, pktRecvTotal;
  int pktSndLossTotal, pktRcvLossTotal, pktRetransTotal, pktSentACKTotal, pktRecvACKTotal, pktSentNAKTotal, pktRecvNAKTotal;
  int64_t usSndDurationTotal;
  int pktSndDropTotal, pktRcvDropTotal, pktRcvUndecryptTotal;
  uint64_t byteSentTotal, byteRecvTotal, byteRcvLossTotal, byteRetransTotal, byteSndDropTotal, byteRcvDropTotal, byteRcvUndecryptTotal;
  int64_t pktSent, pktRecv;
  int pktSndLoss, pktRcvLoss, pktRetrans, pktRcvRetrans, pktSentACK, pktRecvACK, pktSentNAK, pktRecvNAK;
  double mbpsSendRate, mbpsRecvRate;
  int64_t usSndDuration;
  int pktReorderDistance;
  double pktRcvAvgBelatedTime;
  int64_t pktRcvBelated;
  int pktSndDrop, pktRcvDrop, pktRcvUndecrypt;
  uint64_t byteSent, byteRecv, byteRcvLoss, byteRetrans, byteSndDrop, byteRcvDrop, byteRcvUndecrypt;
  double usPktSndPeriod;
  int pktFlowWindow, pktCongestionWindow, pktFlightSize;
  double msRTT, mbpsBandwidth;
  int byteAvailSndBuf, byteAvailRcvBuf;
  double mbpsMaxBW;
  int byteMSS;
  int pktSndBuf, byteSndBuf, msSndBuf, msSndTsbPdDelay;
  int pktRcvBuf, byteRcvBuf, msRcvBuf, msRcvTsbPdDelay;
  int pktSndFilterExtraTotal, pktRcvFilterExtraTotal, pktRcvFilterSupplyTotal, pktRcvFilterLossTotal;
  int pktSndFilterExtra, pktRcvFilterExtra, pktRcvFilterSupply, pktRcvFilterLoss;
  int pktReorderTolerance;
  int64_t pktSentUniqueTotal, pktRecvUniqueTotal;
  uint64_t byteSentUniqueTotal, byteRecvUniqueTotal;
  int64_t pktSentUnique, pktRecvUnique;
  uint64_t byteSentUnique, byteRecvUnique;
  char spare[256];  // room for fields a newer library appends
};

struct Api {
  int (*startup)(void);
  int (*cleanup)(void);
  SRTSOCKET (*create_socket)(void);
  int (*bind)(SRTSOCKET, const struct sockaddr*, int);
  int (*listen)(SRTSOCKET, int);
  SRTSOCKET (*accept)(SRTSOCKET, struct sockaddr*, int*);
  int (*connect)(SRTSOCKET, const struct sockaddr*, int);
  int (*rendezvous)(SRTSOCKET, const struct sockaddr*, int, const struct sockaddr*, int);
  int (*close)(SRTSOCKET);
  int (*getsockname)(SRTSOCKET, struct sockaddr*, int*);
  int (*setsockflag)(SRTSOCKET, int, const void*, int);
  int (*sendmsg)(SRTSOCKET, const char*, int, int, int);
  int (*recvmsg)(SRTSOCKET, char*, int);
  const char* (*getlasterror_str)(void);
  int (*getlasterror)(int*);
  int (*bstats)(SRTSOCKET, Stats*, int);
  int (*getsockstate)(SRTSOCKET);
  int (*epoll_create)(void);
  int (*epoll_add_usock)(int, SRTSOCKET, const int*);
  int (*epoll_remove_usock)(int, SRTSOCKET);
  int (*epoll_uwait)(int, EpollEvent*, int, int64_t);
  int32_t (*epoll_set)(int, int32_t);
  int (*epoll_release)(int);
  uint32_t (*getversion)(void);
  void (*setloglevel)(int);  // syslog levels: LOG_ERR = 3
};

// Opens the library (once; `name` is tried first, then Debian's sonames) and resolves every
// function. Returns nullptr and sets *why (dlerror's text) when that fails.
const Api* Load(const std::string& name, std::string* why);

}  // namespace srt
}  // namespace ipcast
