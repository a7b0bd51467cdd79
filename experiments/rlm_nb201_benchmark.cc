// Benchmark of the regression language model on NAS-Bench-201 (issue "The regression language
// model"): fixed seeded split (train 1,000 / test 2,000 cells), one model decoding acc_cifar10 then
// latency on pixel3, eyeriss, gold_6226, titan_rtx_1; the one-hot MLP on the identical split; wall
// time of train + eval; prediction throughput over all 15,625 cells with sampling.
//
// Usage: rlm_nb201_benchmark [CONFIG=configs/rlm_nb201.yaml] [--no-throughput] [--out PREFIX] [--save DIR]
//                            [--checkpoint DIR]
// --save writes the trained model as a checkpoint (for `nas predict` / `nas eval`); --checkpoint skips
// training and scores a saved model (trained on the config's split) instead.

#include <chrono>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "predictor/arch_text.h"
#include "predictor/pipeline.h"
#include "spaces/search_space.h"

int main(int argc, char** argv) {
  using namespace nas;
  try {
    std::string config_path = "configs/rlm_nb201.yaml", out = "results/rlm_nb201", save, checkpoint;
    bool throughput = true;
    for (int i = 1; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--no-throughput")) throughput = false;
      else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
      else if (!std::strcmp(argv[i], "--save") && i + 1 < argc) save = argv[++i];
      else if (!std::strcmp(argv[i], "--checkpoint") && i + 1 < argc) checkpoint = argv[++i];
      else config_path = argv[i];
    }
    auto t0 = std::chrono::steady_clock::now();
    auto config = predictor::load_rlm_config(config_path);
    auto space = spaces::make_space(config.space);
    auto split = predictor::load_split(config, *space);
    auto rlm = checkpoint.empty() ? predictor::train_rlm(config, *space, split) : predictor::Rlm::load(checkpoint);
    auto result = predictor::evaluate(rlm, config, *space, split);
    if (!save.empty()) rlm.save(save);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string md = predictor::write_eval_report(result, config, out, &split);
    std::cout << md << fmt::format("\n{} wall time: {:.1f} s ({:.1f} min)\n", checkpoint.empty() ? "Train + eval" : "Eval",
                                   wall, wall / 60.0);
    if (throughput && space->size()) {
      std::vector<spaces::Genotype> all;
      for (uint64_t i = 0; i < *space->size(); ++i) all.push_back(space->at(i));
      auto t1 = std::chrono::steady_clock::now();
      auto texts = predictor::architecture_texts(*space, all, config.dataset);
      double text_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      auto t2 = std::chrono::steady_clock::now();
      auto preds = rlm.predict(texts, config.data.targets, config.decode);
      double pred_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
      std::cout << fmt::format(
          "Throughput over all {} cells ({} targets, {} samples each{}): {:.1f} archs/s predicting, {:.1f} archs/s "
          "including ONNX+text building ({:.1f} s text, {:.1f} s predict)\n",
          all.size(), config.data.targets.size(), config.decode.samples,
          rlm.config().members > 1 ? fmt::format(" from {} ensemble members", rlm.config().members) : std::string(),
          all.size() / pred_s,
          all.size() / (pred_s + text_s), text_s, pred_s);
    }
    return 0;
  } catch (const nas::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
