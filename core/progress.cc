#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace nas {

std::string format_duration(double s) {
  if (!(s >= 0)) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, double min_interval_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), min_interval_s_(min_interval_s),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_print_(start_) {
  if (tty_) min_interval_s_ = 0.2;
}

Progress::~Progress() {
  if (!finished_ && done_ > 0) finish();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() >= min_interval_s_ || done_ == total_) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  if (!status.empty()) status_ = status;
  finished_ = true;
  print(true);
}

void Progress::print(bool final_line) {
  double elapsed = elapsed_s();
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::string line;
  if (final_line) {
    line = fmt::format("{}  {}/{} {}  {:.1f} {}/s  done in {}", label_, done_, total_, unit_, rate, unit_,
                       format_duration(elapsed));
  } else {
    double pct = total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 0.0;
    double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
    line = fmt::format("{}  {}/{} ({:.1f}%)  {:.1f} {}/s  ETA {}", label_, done_, total_, pct, rate, unit_,
                       format_duration(eta));
  }
  if (!status_.empty()) line += "  " + status_;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace nas
