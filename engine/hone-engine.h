/* hone-engine.h: everything the engine (libhone) offers, in one include.
 * The engine knows nothing of GTK, GDK or cairo. */
#pragma once

#include "data/hone-augment.h"
#include "data/hone-dataset.h"
#include "data/hone-loader.h"
#include "hone-arch.h"
#include "hone-error.h"
#include "hone-graph.h"
#include "hone-loss.h"
#include "hone-model.h"
#include "hone-ops.h"
#include "hone-optim.h"
#include "hone-parallel.h"
#include "hone-recipe.h"
#include "hone-rng.h"
#include "hone-safetensors.h"
#include "hone-schedule.h"
#include "hone-tensor.h"
#include "hone-train-step.h"
#include "hone-trainer.h"
#include "hone-zoo.h"
