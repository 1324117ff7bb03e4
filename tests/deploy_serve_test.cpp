// The HTTP service in this process on an ephemeral loopback port, talked to with httplib::Client: endpoints,
// same JSON as the C++ pipeline, JSON errors with the right status codes, limits, token.
#include <gtest/gtest.h>
#include <httplib.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "DeployTestSupport.h"
#include "analysis/Pipeline.h"
#include "analysis/ResultJson.h"
#include "core/Errors.h"
#include "service/http/HttpService.h"

using namespace stmlens;
using namespace stmlens::testing;
using nlohmann::json;

namespace {

// A running service, stopped and joined on destruction.
struct RunningService {
    HttpService service;
    int port = 0;
    std::thread thread;
    RunningService(const Pipeline& p, ServeOptions o) : service(p, withAnyPort(o)) {
        port = service.bind();
        thread = std::thread([this] { service.listen(); });
    }
    ~RunningService() {
        service.stop();
        thread.join();
    }
    static ServeOptions withAnyPort(ServeOptions o) {
        o.port = 0;
        return o;
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(60, 0);
        return c;
    }
};

class Serve : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        makeUntrainedModels(dir_->str() + "/models");
        PipelineOptions po;
        po.modelsDir = dir_->str() + "/models";
        pipeline_ = new Pipeline(po);
        scanBytes_ = new std::string(readText(cdaScan()));
    }
    static void TearDownTestSuite() {
        delete scanBytes_;
        delete pipeline_;
        delete dir_;
    }
    static TempDir* dir_;
    static Pipeline* pipeline_;
    static std::string* scanBytes_;
};
TempDir* Serve::dir_ = nullptr;
Pipeline* Serve::pipeline_ = nullptr;
std::string* Serve::scanBytes_ = nullptr;

void expectJsonError(const httplib::Result& r, int status) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    const json j = json::parse(r->body);
    EXPECT_EQ(j.at("status"), status);
    EXPECT_FALSE(j.at("error").get<std::string>().empty());
}

}  // namespace

TEST_F(Serve, HealthAndModels) {
    RunningService s(*pipeline_, {});
    auto c = s.client();
    auto health = c.Get("/v1/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(json::parse(health->body).at("status"), "ok");
    auto models = c.Get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(json::parse(models->body).at("models").at("atoms"), "atoms-untrained");
}

TEST_F(Serve, AnalyzeGivesThePipelinesJson) {
    RunningService s(*pipeline_, {});
    auto c = s.client();
    auto r = c.Post("/v1/analyze?filename=cda7.npy&pixel_size=0.097,0.100", *scanBytes_, "application/octet-stream");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json served = json::parse(r->body);
    EXPECT_EQ(served.at("source").at("path"), "cda7.npy");
    const AnalysisResult direct = pipeline_->analyzeFile(cdaScan(), PixelSize(0.097, 0.100));
    EXPECT_EQ(comparable(served).dump(), comparable(toJson(direct)).dump());

    // The row contrast can be given per request (a bias series inverts it from one frame to the next).
    auto inverted = c.Post("/v1/analyze?filename=cda7.npy&pixel_size=0.097,0.100&row_contrast=inverted", *scanBytes_,
                           "application/octet-stream");
    ASSERT_TRUE(inverted);
    ASSERT_EQ(inverted->status, 200) << inverted->body;
    EXPECT_EQ(json::parse(inverted->body).at("lattice").at("row_contrast"), "inverted");
    CallOptions call;
    call.pixelSize = PixelSize(0.097, 0.100);
    call.rowContrast = RowContrast::Inverted;
    EXPECT_EQ(comparable(json::parse(inverted->body)).dump(), comparable(toJson(pipeline_->analyzeFile(cdaScan(), call))).dump());

    // pixel_size=lattice: calibrated from the dimer rows (this frame's 0.097 x 0.099 nm).
    auto calibrated = c.Post("/v1/analyze?filename=cda7.npy&pixel_size=lattice", *scanBytes_, "application/octet-stream");
    ASSERT_TRUE(calibrated);
    ASSERT_EQ(calibrated->status, 200) << calibrated->body;
    const json cal = json::parse(calibrated->body);
    EXPECT_EQ(cal.at("image").at("pixel_size_source"), "calibrated");
    EXPECT_NEAR(cal.at("image").at("pixel_size_nm").at(0).get<double>(), 0.097, 0.002);
    EXPECT_NEAR(cal.at("image").at("pixel_size_nm").at(1).get<double>(), 0.099, 0.003);
}

TEST_F(Serve, BadRequestsGetJsonErrors) {
    RunningService s(*pipeline_, {});
    auto c = s.client();
    expectJsonError(c.Post("/v1/analyze", *scanBytes_, "application/octet-stream"), 400);                      // no filename
    expectJsonError(c.Post("/v1/analyze?filename=a.npy&pixel_size=-1", *scanBytes_, "application/octet-stream"), 400);
    auto contrast = c.Post("/v1/analyze?filename=a.npy&pixel_size=0.1&row_contrast=dark", *scanBytes_, "application/octet-stream");
    expectJsonError(contrast, 400);
    EXPECT_NE(std::string(json::parse(contrast->body).at("error")).find("row_contrast"), std::string::npos) << contrast->body;
    expectJsonError(c.Post("/v1/analyze?filename=a.npy", "", "application/octet-stream"), 400);                // empty
    auto garbage = c.Post("/v1/analyze?filename=junk.sxm", "definitely not a scan", "application/octet-stream");
    expectJsonError(garbage, 400);
    const std::string message = json::parse(garbage->body).at("error");
    EXPECT_NE(message.find("junk.sxm"), std::string::npos) << message;
    EXPECT_EQ(message.find("stmlens-serve-"), std::string::npos) << "leaks the upload path: " << message;
    // A path in the name is reduced to the name.
    auto traversal = c.Post("/v1/analyze?filename=../../etc/x.npy&pixel_size=0.1", "nope", "application/octet-stream");
    expectJsonError(traversal, 400);
    expectJsonError(c.Get("/v1/analyze"), 405);
    expectJsonError(c.Post("/v1/health", "", "text/plain"), 405);
    expectJsonError(c.Delete("/v1/models"), 405);
    expectJsonError(c.Get("/v1/nothing-here"), 404);
    // Still healthy after all that.
    auto health = c.Get("/v1/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
}

TEST_F(Serve, BodyLimitTimeLimitAndQueueLimit) {
    {
        ServeOptions o;
        o.maxBodyBytes = 1000;
        RunningService s(*pipeline_, o);
        expectJsonError(s.client().Post("/v1/analyze?filename=a.npy", std::string(5000, 'x'), "application/octet-stream"), 413);
    }
    {
        ServeOptions o;
        o.timeLimitSeconds = 1e-6;
        RunningService s(*pipeline_, o);
        expectJsonError(s.client().Post("/v1/analyze?filename=a.npy&pixel_size=0.097,0.1", *scanBytes_, "application/octet-stream"), 504);
    }
    {
        // One worker, no queue: of simultaneous requests, those that find the worker busy get 503 at once.
        ServeOptions o;
        o.workers = 1;
        o.queueLimit = 0;
        RunningService s(*pipeline_, o);
        std::vector<int> statuses(6, 0);
        std::vector<std::thread> clients;
        for (size_t i = 0; i < statuses.size(); ++i)
            clients.emplace_back([&, i] {
                auto r = s.client().Post("/v1/analyze?filename=a.npy&pixel_size=0.097,0.1", *scanBytes_, "application/octet-stream");
                statuses[i] = r ? r->status : -1;
            });
        for (auto& t : clients) t.join();
        int ok = 0, busy = 0;
        for (int st : statuses) {
            EXPECT_TRUE(st == 200 || st == 503) << st;
            ok += st == 200;
            busy += st == 503;
        }
        EXPECT_GE(ok, 1);
        EXPECT_GE(busy, 1);
    }
}

TEST_F(Serve, TokenRequiredOffLoopbackAndCheckedWhenSet) {
    ServeOptions open;
    open.host = "0.0.0.0";
    EXPECT_THROW(HttpService(*pipeline_, open), InputError);
    EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
    EXPECT_TRUE(isLoopbackHost("localhost"));
    EXPECT_FALSE(isLoopbackHost("192.168.1.10"));

    ServeOptions o;
    o.token = "s3cret";
    RunningService s(*pipeline_, o);
    auto c = s.client();
    expectJsonError(c.Get("/v1/health"), 401);
    c.set_bearer_token_auth("wrong");
    expectJsonError(c.Get("/v1/models"), 401);
    c.set_bearer_token_auth("s3cret");
    auto r = c.Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

namespace {

// `stmlens serve` as a child process with its stdout on a pipe.
struct ChildServer {
    pid_t pid = -1;
    FILE* out = nullptr;
    explicit ChildServer(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe(fds) != 0) return;
        pid = ::fork();
        if (pid == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            ::close(fds[0]);
            ::close(fds[1]);
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out = ::fdopen(fds[0], "r");
    }
    // Port from the first line, "... listening on http://HOST:PORT ...", or -1.
    int port() {
        char line[512];
        if (!out || !std::fgets(line, sizeof line, out)) return -1;
        const std::string s(line);
        const size_t colon = s.rfind(':', s.find(" (") == std::string::npos ? s.size() : s.find(" ("));
        return colon == std::string::npos ? -1 : std::atoi(s.c_str() + colon + 1);
    }
    int terminate() {
        ::kill(pid, SIGTERM);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        return status;
    }
    ~ChildServer() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        if (out) std::fclose(out);
    }
};

}  // namespace

TEST_F(Serve, CommandServesAndStopsCleanlyOnSigterm) {
    ChildServer child({STMLENS_CLI, "serve", "--port", "0", "--models", dir_->str() + "/models"});
    const int port = child.port();
    ASSERT_GT(port, 0);
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    auto r = c.Post("/v1/analyze?filename=cda7.npy&pixel_size=0.097,0.100", *scanBytes_, "application/octet-stream");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const AnalysisResult direct = pipeline_->analyzeFile(cdaScan(), PixelSize(0.097, 0.100));
    EXPECT_EQ(comparable(json::parse(r->body)).dump(), comparable(toJson(direct)).dump());
    const int status = child.terminate();
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Serve, CommandRefusesOpenHostWithoutToken) {
    const std::string cmd = std::string(STMLENS_CLI) + " serve --host 0.0.0.0 --port 0 --models " + dir_->str() + "/models 2>/dev/null";
    const int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2);
}
