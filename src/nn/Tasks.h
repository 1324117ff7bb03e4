#pragma once
// The three networks stmlens ships, each defined by its card, its training data and its validation metric:
//   assess  : image-level verdict classes + per-pixel resolved/unresolved map, at 0.2 nm/px
//   atoms   : per-pixel atom site (or dimer centre where atoms are not resolved), at 0.1 nm/px
//   defects : lattice / bright / dark / step edge / contamination / bare Si, at 0.2 nm/px
#include <string>

#include "nn/Model.h"
#include "nn/Trainer.h"

namespace stmlens {

// Card with the default architecture, pixel size and classes of a task. Throws InputError on unknown tasks.
ModelCard defaultCard(const std::string& task);

// Training samples rendered by the simulator at a pixel size jittered around the card's and resampled to it,
// normalised exactly as in inference (nn/Preprocess.h). `tile` = training tile size in model pixels. The render
// pixel size is drawn log-uniformly from [minScale, maxScale] x the model's: a maxScale above 1 teaches the
// network the look of coarse scans enlarged to its pixel size, as inference feeds it survey scans.
// `currentShare` > 0 renders that fraction of the samples as constant-height current frames (the rest keep the
// presets' own mix of imaging modes, about a fifth of it constant-height): fine-tuning for a lab that images
// mostly in constant-height mode, or for what only those frames show.
SampleGenerator simulatedSamples(const ModelCard& card, int tile, double minScale = 0.7, double maxScale = 1.4,
                                 double currentShare = 0);

// Validation metrics of a task (object-level F1 for atoms and defects, accuracy + IoU for assessment);
// the "score" field is what training maximises.
Evaluator evaluatorFor(const ModelCard& card);

}  // namespace stmlens
