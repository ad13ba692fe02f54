// The `ret` codes of web's JSON answers (spec/web-core.md 2.1) and the comet RPC codes they
// are mapped from.
#pragma once

namespace appmsg::web {

constexpr int kOk = 0;
constexpr int kNoNode = 1001;        // no comet for the key, or none for that protocol
constexpr int kUnknownProto = 1003;  // a protocol other than 1 (WebSocket) and 2 (TCP)
// Push outcomes besides 0 (delivered to the live connections and, with an expire, stored) and
// 65535 (nothing happened: safe to retry). README "Push answers" says what a caller does.
constexpr int kNotStored = 1004;       // delivered live, but the offline copy was not stored
constexpr int kOutcomeUnknown = 1005;  // the deadline passed while the comet had the push
constexpr int kAuthErr = 65533;        // admin secret missing or wrong
constexpr int kParamErr = 65534;       // missing or invalid parameter
constexpr int kInternalErr = 65535;    // no message node, an RPC failed, or the peer refused

constexpr int kCometParamError = 100;  // comet push_error::param
constexpr int kCometStoreError = 101;  // comet push_error::store

}  // namespace appmsg::web
