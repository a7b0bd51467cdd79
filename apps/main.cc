// `nas`: the command-line front end of the NAS framework. Run `nas --help` for the subcommands.

#include <cstdlib>
#include <exception>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"nas: neural architecture search with a regression language model (RLM) predictor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nas 0.1");
  nas::apps::add_space_commands(app);
  nas::apps::add_search_commands(app);
#ifdef NAS_WITH_PREDICTOR
  nas::apps::add_predictor_commands(app);
  nas::apps::add_measure_commands(app);
  nas::apps::add_experiment_commands(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const nas::Error& e) {
    std::cerr << "nas: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // Errors raised inside libraries (ONNX checker, protobuf, LibTorch) still end in one line.
    std::cerr << "nas: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
