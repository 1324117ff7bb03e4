// The progress bar: counts, clamping, and silence when not on a terminal.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/ProgressBar.h"

using namespace stmlens;

TEST(ProgressBar, CountsAndClamps) {
    ProgressBar bar("work", 4, 0);
    EXPECT_FALSE(bar.enabled());
    EXPECT_NE(bar.line().find("work ["), std::string::npos);
    EXPECT_NE(bar.line().find("] 0/4"), std::string::npos);
    bar.advance();
    bar.advance(2);
    EXPECT_NE(bar.line().find("] 3/4"), std::string::npos);
    EXPECT_NE(bar.line().find("ETA"), std::string::npos);
    bar.advance(10);   // never past the total
    EXPECT_NE(bar.line().find("] 4/4"), std::string::npos);
    EXPECT_EQ(bar.line().find("ETA"), std::string::npos);
    EXPECT_NE(bar.line().find("########################"), std::string::npos);
    bar.set(1);
    EXPECT_NE(bar.line().find("] 1/4"), std::string::npos);
}

TEST(ProgressBar, ThreadSafeAdvance) {
    ProgressBar bar("threads", 4000, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) bar.advance();
        });
    for (auto& th : pool) th.join();
    EXPECT_NE(bar.line().find("] 4000/4000"), std::string::npos);
}

TEST(ProgressBar, DisabledBarWritesNothing) {
    testing::internal::CaptureStderr();
    {
        ProgressBar bar("quiet", 3, 0);
        bar.advance(3);
    }
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    testing::internal::CaptureStderr();
    {
        ProgressBar bar("loud", 3, 1);
        bar.advance(3);
    }
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_NE(out.find("loud ["), std::string::npos);
    EXPECT_NE(out.find("3/3"), std::string::npos);
}
