#include "wire_binding.h"

extern "C" {
#include "crc32c.h"
#include "wire.h"
}

namespace ipcast {
namespace {

Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    throw Napi::TypeError::New(env, "crc32c: expected a Uint8Array");
  }
  auto buf = info[0].As<Napi::Uint8Array>();
  return Napi::Number::New(env, ipcast_crc32c(0, buf.Data(), buf.ByteLength()));
}

// decodeChunk(buf) -> { ok: true, kind, channel, length, sequence, timestampUs (bigint), flags, checksum }
//                   | { ok: false, reason }
Napi::Value DecodeChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    throw Napi::TypeError::New(env, "decodeChunk: expected a Uint8Array");
  }
  auto buf = info[0].As<Napi::Uint8Array>();
  ipcast_header h{};
  int r = ipcast_decode(buf.Data(), buf.ByteLength(), &h);
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", Napi::Boolean::New(env, r == IPCAST_OK));
  if (r != IPCAST_OK) {
    out.Set("reason", Napi::String::New(env, ipcast_reason_name(r)));
    return out;
  }
  out.Set("kind", Napi::Number::New(env, h.kind));
  out.Set("channel", Napi::Number::New(env, h.channel));
  out.Set("length", Napi::Number::New(env, h.length));
  out.Set("sequence", Napi::Number::New(env, h.sequence));
  out.Set("timestampUs", Napi::BigInt::New(env, h.timestamp_us));
  out.Set("flags", Napi::Number::New(env, h.flags));
  out.Set("checksum", Napi::Number::New(env, h.checksum));
  return out;
}

// encodeChunk({kind, channel, sequence, timestampUs: bigint, flags}, payload) -> Buffer (header + payload)
Napi::Value EncodeChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "encodeChunk: expected (header object, Uint8Array payload)");
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto payload = info[1].As<Napi::Uint8Array>();
  bool lossless = true;
  ipcast_header h{};
  h.kind = static_cast<uint8_t>(o.Get("kind").ToNumber().Uint32Value());
  h.channel = static_cast<uint16_t>(o.Get("channel").ToNumber().Uint32Value());
  h.sequence = o.Get("sequence").ToNumber().Uint32Value();
  Napi::Value ts = o.Get("timestampUs");
  h.timestamp_us = ts.IsBigInt() ? ts.As<Napi::BigInt>().Uint64Value(&lossless) : 0;
  Napi::Value flags = o.Get("flags");
  h.flags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : 0;
  h.length = static_cast<uint32_t>(payload.ByteLength());
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, IPCAST_HEADER_BYTES + payload.ByteLength());
  ipcast_encode_header(&h, payload.Data(), out.Data());
  if (payload.ByteLength()) memcpy(out.Data() + IPCAST_HEADER_BYTES, payload.Data(), payload.ByteLength());
  return out;
}

}  // namespace

void InitWire(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("decodeChunk", Napi::Function::New(env, DecodeChunk, "decodeChunk"));
  exports.Set("encodeChunk", Napi::Function::New(env, EncodeChunk, "encodeChunk"));
}

}  // namespace ipcast
