#pragma once
// The local HTTP service (`stmlens serve`): models load once, scans arrive as request bodies.
//
//   POST /v1/analyze?filename=NAME.EXT[&pixel_size=X,Y]   body = the scan file's bytes -> stmlens.analysis/1 JSON
//   GET  /v1/health                                        -> {"status": "ok", active, queued, ...}
//   GET  /v1/models                                        -> {"models": {role: name}}
//
//   HttpService service(pipeline, ServeOptions{});   // refuses a non-loopback host without a token
//   int port = service.bind();                      // port 0 picks a free one
//   service.listen();                               // blocks until stop() (from another thread or a signal)
//
// At most `workers` analyses run at once and `queueLimit` wait; beyond that requests get 503 at once. Bodies
// above maxBodyBytes get 413; an analysis not finished within timeLimitSeconds gets 504. Every error is JSON:
// {"error": "message", "status": code} with 400 bad input, 401 missing/wrong token, 404, 405, 413, 422 (valid scan
// that cannot be analysed), 500, 503, 504. Built into libstmlens_http (it needs cpp-httplib).
#include <memory>
#include <string>

#include "analysis/Pipeline.h"

namespace stmlens {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8765;                          // 0 = any free port
    std::string token;                        // required (Authorization: Bearer TOKEN) when set; must be set off loopback
    int workers = 2;                          // analyses at once
    int queueLimit = 8;                       // waiting analyses before 503
    size_t maxBodyBytes = 256u << 20;         // 413 above this
    double timeLimitSeconds = 120;            // queue wait + analysis, 504 above this
};

// "127.0.0.1", "::1", "localhost" and the rest of 127.0.0.0/8.
bool isLoopbackHost(const std::string& host);

class HttpService {
public:
    // Throws InputError for bad options (non-loopback host without token, non-positive limits).
    HttpService(const Pipeline& pipeline, ServeOptions options);
    ~HttpService();
    HttpService(const HttpService&) = delete;
    HttpService& operator=(const HttpService&) = delete;

    // Binds the socket; returns the port. Throws InputError when the address cannot be bound.
    int bind();
    // Serves until stop(). bind() first.
    void listen();
    void stop();
    int port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace stmlens
