#include "service/http/HttpService.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "analysis/ResultJson.h"
#include "core/Errors.h"

namespace stmlens {

namespace fs = std::filesystem;
using nlohmann::json;

bool isLoopbackHost(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// A fixed set of worker threads with a bounded queue: trySubmit refuses work instead of letting it pile up.
class BoundedPool {
public:
    BoundedPool(int workers, int queueLimit) : capacity_(workers + queueLimit) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
    }
    ~BoundedPool() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    bool trySubmit(std::function<void()> job) {
        {
            std::lock_guard<std::mutex> lock(m_);
            // Capacity counts running and waiting jobs: a job sits in the queue until a worker takes it.
            if (inFlight_ >= capacity_) return false;
            ++inFlight_;
            queue_.push_back(std::move(job));
        }
        cv_.notify_one();
        return true;
    }
    int active() const { return active_.load(); }
    int queued() {
        std::lock_guard<std::mutex> lock(m_);
        return static_cast<int>(queue_.size());
    }

private:
    void loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lock(m_);
                cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;   // stopping, and everything queued is done
                job = std::move(queue_.front());
                queue_.pop_front();
                ++active_;
            }
            job();
            --active_;
            std::lock_guard<std::mutex> lock(m_);
            --inFlight_;
        }
    }
    const int capacity_;
    int inFlight_ = 0;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    std::atomic<int> active_{0};
    bool stopping_ = false;
};

struct Reply {
    int status = 200;
    std::string body;
};

std::string errorBody(int status, const std::string& message) {
    return json{{"error", message}, {"status", status}}.dump();
}

void replyError(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(errorBody(status, message), "application/json");
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    if (from.empty()) return text;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
    return text;
}

const char* reasonFor(int status) {
    switch (status) {
        case 400: return "bad request";
        case 401: return "missing or wrong token (Authorization: Bearer TOKEN)";
        case 404: return "no such endpoint";
        case 405: return "method not allowed";
        case 413: return "request body too large";
        case 503: return "busy";
        default: return "error";
    }
}

}  // namespace

struct HttpService::Impl {
    const Pipeline& pipeline;
    ServeOptions options;
    httplib::Server server;
    std::unique_ptr<BoundedPool> pool;
    std::string tmpDir;
    std::atomic<uint64_t> counter{0};
    int port = -1;

    Impl(const Pipeline& p, ServeOptions o) : pipeline(p), options(std::move(o)) {}

    void analyze(const httplib::Request& req, httplib::Response& res) {
        const std::string filename = fs::path(req.get_param_value("filename")).filename().string();
        if (filename.empty() || filename == "." || filename == "..")
            return replyError(res, 400, "filename=NAME.EXT is required (its extension helps pick the reader)");
        CallOptions call;
        if (req.has_param("pixel_size")) {
            try {
                const std::string v = req.get_param_value("pixel_size");
                if (v == "lattice")
                    call.pixelSizeFromLattice = true;
                else
                    call.pixelSize = PixelSize::parse(v);
            } catch (const std::exception& e) {
                return replyError(res, 400, std::string("pixel_size: ") + e.what());
            }
        }
        if (req.has_param("row_contrast")) {
            try {
                call.rowContrast = parseRowContrast(req.get_param_value("row_contrast"), "row_contrast");
            } catch (const std::exception& e) {
                return replyError(res, 400, e.what());
            }
        }
        if (req.body.empty()) return replyError(res, 400, "empty body: send the scan file's bytes");

        const std::string path = tmpDir + "/" + std::to_string(counter.fetch_add(1)) + "-" + filename;
        {
            std::ofstream out(path, std::ios::binary);
            out.write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
            out.close();
            if (!out) {
                std::error_code ec;
                fs::remove(path, ec);
                return replyError(res, 500, "cannot store the upload");
            }
        }
        auto promise = std::make_shared<std::promise<Reply>>();
        std::future<Reply> future = promise->get_future();
        const Pipeline& pipe = pipeline;
        const bool queued = pool->trySubmit([promise, path, filename, call, &pipe] {
            Reply reply;
            try {
                AnalysisResult r = pipe.analyzeFile(path, call);
                r.path = filename;
                reply.body = toJson(r).dump();
            } catch (const InputError& e) {
                reply = {400, errorBody(400, replaceAll(e.what(), path, filename))};
            } catch (const AnalysisError& e) {
                reply = {422, errorBody(422, replaceAll(e.what(), path, filename))};
            } catch (const std::exception& e) {
                reply = {500, errorBody(500, std::string("internal error: ") + e.what())};
            }
            std::error_code ec;
            fs::remove(path, ec);
            promise->set_value(std::move(reply));
        });
        if (!queued) {
            std::error_code ec;
            fs::remove(path, ec);
            res.set_header("Retry-After", "1");
            return replyError(res, 503, "busy: every worker and queue slot is taken, retry later");
        }
        const auto limit = std::chrono::duration<double>(options.timeLimitSeconds);
        if (future.wait_for(limit) != std::future_status::ready)
            return replyError(res, 504, "the analysis did not finish within the time limit");
        Reply reply = future.get();
        res.status = reply.status;
        res.set_content(reply.body, "application/json");
    }
};

HttpService::HttpService(const Pipeline& pipeline, ServeOptions options) : impl_(std::make_unique<Impl>(pipeline, std::move(options))) {
    const ServeOptions& o = impl_->options;
    if (!isLoopbackHost(o.host) && o.token.empty())
        throw InputError("--host " + o.host, "binding beyond loopback needs --token (clients send Authorization: Bearer TOKEN)");
    if (o.workers < 1 || o.queueLimit < 0 || o.maxBodyBytes == 0 || !(o.timeLimitSeconds > 0))
        throw InputError("serve options", "workers >= 1, queue limit >= 0, body limit > 0 and time limit > 0 are required");

    std::string tmpl = (fs::temp_directory_path() / "stmlens-serve-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw InputError(tmpl, "cannot create a folder for uploads");
    impl_->tmpDir = tmpl;
    impl_->pool = std::make_unique<BoundedPool>(o.workers, o.queueLimit);

    httplib::Server& s = impl_->server;
    Impl* impl = impl_.get();
    // Connections beyond the analysis slots only wait for a quick answer (health, 503), so a few extra suffice.
    const int connections = o.workers + o.queueLimit + 4;
    s.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
    s.set_payload_max_length(o.maxBodyBytes);
    s.set_read_timeout(30, 0);
    s.set_write_timeout(30, 0);
    s.set_pre_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
        const std::string& token = impl->options.token;
        if (token.empty() || req.get_header_value("Authorization") == "Bearer " + token) return httplib::Server::HandlerResponse::Unhandled;
        replyError(res, 401, reasonFor(401));
        return httplib::Server::HandlerResponse::Handled;
    });
    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;   // already a JSON error from a handler
        std::string message = reasonFor(res.status);
        if (res.status == 404) message += ": " + req.path;
        res.set_content(errorBody(res.status, message), "application/json");
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what += std::string(": ") + e.what();
        } catch (...) {
        }
        replyError(res, 500, what);
    });

    s.Post("/v1/analyze", [impl](const httplib::Request& req, httplib::Response& res) { impl->analyze(req, res); });
    s.Get("/v1/health", [impl](const httplib::Request&, httplib::Response& res) {
        const json j{{"status", "ok"},           {"version", "0.1.0"},
                     {"active", impl->pool->active()}, {"queued", impl->pool->queued()},
                     {"workers", impl->options.workers}, {"queue_limit", impl->options.queueLimit}};
        res.set_content(j.dump(), "application/json");
    });
    s.Get("/v1/models", [impl](const httplib::Request&, httplib::Response& res) {
        res.set_content(json{{"models", impl->pipeline.modelNames()}}.dump(), "application/json");
    });
    auto notAllowed = [](const char* allow) {
        return [allow](const httplib::Request&, httplib::Response& res) {
            res.set_header("Allow", allow);
            replyError(res, 405, std::string("method not allowed; use ") + allow);
        };
    };
    s.Get("/v1/analyze", notAllowed("POST"));
    s.Put("/v1/analyze", notAllowed("POST"));
    s.Delete("/v1/analyze", notAllowed("POST"));
    s.Patch("/v1/analyze", notAllowed("POST"));
    for (const char* path : {"/v1/health", "/v1/models"}) {
        s.Post(path, notAllowed("GET"));
        s.Put(path, notAllowed("GET"));
        s.Delete(path, notAllowed("GET"));
        s.Patch(path, notAllowed("GET"));
    }
}

HttpService::~HttpService() {
    impl_->server.stop();
    impl_->pool.reset();   // finishes queued analyses, which remove their uploads
    std::error_code ec;
    fs::remove_all(impl_->tmpDir, ec);
}

int HttpService::bind() {
    const ServeOptions& o = impl_->options;
    if (o.port == 0) {
        impl_->port = impl_->server.bind_to_any_port(o.host);
    } else {
        impl_->port = impl_->server.bind_to_port(o.host, o.port) ? o.port : -1;
    }
    if (impl_->port <= 0) throw InputError(o.host + ":" + std::to_string(o.port), "cannot bind (address in use or not local?)");
    return impl_->port;
}

void HttpService::listen() { impl_->server.listen_after_bind(); }

void HttpService::stop() { impl_->server.stop(); }

int HttpService::port() const { return impl_->port; }

}  // namespace stmlens
