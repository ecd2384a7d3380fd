/*
 * config.c — the option table, and the three ways into it: defaults, a YAML
 * file (libyaml's event parser) and the command line.
 *
 * Every option is one row of `options[]` below: key, type, where it lives in
 * fs_config, default, limits and help. --help, the JSON echo and all the
 * checks are driven by that one table, so adding an option is one line.
 */
#include "config.h"
#include "ef.h"
#include "fs_choice.h"

#include "secagg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum {
  T_INT,
  T_UINT,
  T_FLOAT,
  T_STR,
  T_BOOL,
  T_CHOICE,
  T_TABLE, /* a row of an extension point's table (fs_choice.h), registered
              by the driver with fs_config_use_table */
  T_LIST,
  T_FLIST
} opt_type;

typedef struct {
  const char *key;
  opt_type type;
  size_t offset;
  const char *def;
  double min, max;          /* numbers: inclusive limits */
  const char *const *names; /* T_CHOICE: the names, NULL-terminated, in the
                              order of the field's enum (fs_config.h) */
  const char *help;
} opt;

#define OFF(f) offsetof(fs_config, f)
#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BIG 1e18

static const opt options[] = {
    {"run.seed", T_UINT, OFF(seed), "1", 0, BIG, NULL,
     "seed of every random stream (data, partition, sampling, init)"},
    {"run.rounds", T_INT, OFF(rounds), "20", 1, 1e9, NULL,
     "aggregations (rounds) to run"},
    {"run.name", T_STR, OFF(name), "fedsim", 0, 0, NULL,
     "name of the run, used in the run folder's name"},
    {"run.out_dir", T_STR, OFF(out_dir), "", 0, 0, NULL,
     "run folder; empty: runs/<UTC date-time>-<name>"},
    {"run.progress", T_CHOICE, OFF(progress), "auto", 0, 0,
     NAMES("auto", "on", "off"),
     "live progress line (auto: only on a terminal)"},
    {"run.time_budget", T_FLOAT, OFF(time_budget), "0", 0, 1e15, NULL,
     "stop when the virtual clock would pass this many seconds (0: no "
     "budget; run.rounds still bounds the aggregations)"},
    {"run.clock", T_CHOICE, OFF(clock), "virtual", 0, 0,
     NAMES("virtual", "wall"),
     "virtual: discrete-event clock, bit-identical for any rank count; "
     "wall: real arrival order and measured durations (for clusters; not "
     "reproducible by nature)"},
    {"run.save_model", T_BOOL, OFF(save_model), "true", 0, 0, NULL,
     "write the final model to model.bin in the run folder"},
    {"run.checkpoint_every", T_INT, OFF(checkpoint_every), "0", 0, 1e9, NULL,
     "write a checkpoint every K aggregations into the run folder (0: only "
     "on SIGINT/SIGTERM; docs/reliability.md)"},
    {"run.checkpoint_keep", T_INT, OFF(checkpoint_keep), "2", 0, 1e9, NULL,
     "complete checkpoints kept (older ones are deleted; 0: keep all)"},
    {"run.resume", T_STR, OFF(resume), "", 0, 0, NULL,
     "continue the run in this folder from its last complete checkpoint "
     "(or from this checkpoint folder), bit-identically"},
    {"run.memory_limit", T_FLOAT, OFF(memory_limit), "0", 0, 1e18, NULL,
     "bytes one rank may use (0: the machine's available memory); a run "
     "whose estimate exceeds it is refused before it starts"},

    {"data.source", T_CHOICE, OFF(data_source), "synthetic", 0, 0,
     NAMES("synthetic", "fashion-mnist", "libsvm", "idx"),
     "where the data comes from"},
    {"data.path", T_STR, OFF(data_path), "", 0, 0, NULL,
     "libsvm: training file; idx: training image file"},
    {"data.test_path", T_STR, OFF(data_test_path), "", 0, 0, NULL,
     "libsvm: test file; idx: test image file (empty: split off "
     "data.test_fraction of the training rows)"},
    {"data.labels_path", T_STR, OFF(data_labels_path), "", 0, 0, NULL,
     "idx: training label file"},
    {"data.test_labels_path", T_STR, OFF(data_test_labels_path), "", 0, 0, NULL,
     "idx: test label file"},
    {"data.dir", T_STR, OFF(data_dir), "/usr/share/datasets/fashion-mnist", 0,
     0, NULL, "fashion-mnist: folder of the four gzip IDX files"},
    {"data.test_fraction", T_FLOAT, OFF(data_test_fraction), "0.2", 0, 0.9,
     NULL,
     "share of rows held out for testing when there is no test file (0: "
     "test on the training rows)"},
    {"data.synthetic.alpha", T_FLOAT, OFF(synth_alpha), "0.5", 0, 100, NULL,
     "Synthetic(alpha, beta): how much the clients' models differ"},
    {"data.synthetic.beta", T_FLOAT, OFF(synth_beta), "0.5", 0, 100, NULL,
     "Synthetic(alpha, beta): how much the clients' features differ"},
    {"data.synthetic.dim", T_INT, OFF(synth_dim), "60", 1, 1e6, NULL,
     "features of the generated data"},
    {"data.synthetic.classes", T_INT, OFF(synth_classes), "10", 2, 1000, NULL,
     "classes of the generated data"},
    {"data.synthetic.groups", T_INT, OFF(synth_groups), "100", 1, 1e7, NULL,
     "natural groups (devices) of the generated data"},
    {"data.synthetic.samples", T_INT, OFF(synth_samples), "20000", 10, 1e9,
     NULL, "rows generated over all groups (train and test)"},

    {"partition.method", T_TABLE, OFF(part_method), "auto", 0, 0, NULL,
     "how rows are split over clients (auto: natural for synthetic data, else "
     "iid)"},
    {"partition.alpha", T_FLOAT, OFF(part_alpha), "0.5", 1e-6, 1e6, NULL,
     "Dirichlet concentration over labels (small: very skewed)"},
    {"partition.shards", T_INT, OFF(part_shards), "2", 1, 1e6, NULL,
     "label-sorted shards per client"},

    {"clients.num", T_INT, OFF(clients), "100", 1, 1e8, NULL,
     "virtual clients N"},
    {"clients.per_round", T_INT, OFF(per_round), "10", 1, 1e8, NULL,
     "clients sampled per round (without replacement); with Poisson "
     "sampling, the expected number"},
    {"clients.sampling", T_CHOICE, OFF(sampling), "fixed", 0, 0,
     NAMES("fixed", "poisson"),
     "fixed: exactly clients.per_round clients; poisson: each client "
     "independently with q = per_round/num (what the DP accountant assumes)"},
    {"clients.momentum", T_FLOAT, OFF(client_momentum), "0", 0, 0.999999, NULL,
     "local Polyak momentum on each client's update, kept across rounds: "
     "m_i = beta m_i + (1 - beta) u_i is sent (MoNNA; 0: off)"},

    {"local.mode", T_TABLE, OFF(local_mode), "epochs", 0, 0, NULL,
     "local work: E epochs of minibatch SGD, S steps, one full gradient, or "
     "one minibatch gradient (EF21-SGD); fedprox, scaffold: "
     "docs/local-methods.md"},
    {"local.epochs", T_INT, OFF(local_epochs), "1", 1, 1e6, NULL,
     "local epochs E"},
    {"local.steps", T_INT, OFF(local_steps), "10", 1, 1e9, NULL,
     "local steps S (local.mode = steps)"},
    {"local.batch_size", T_INT, OFF(local_batch), "32", 1, 1e7, NULL,
     "minibatch size"},
    {"local.lr", T_FLOAT, OFF(local_lr), "0.05", 0, 1e6, NULL,
     "client learning rate"},
    {"local.prox_mu", T_FLOAT, OFF(local_prox_mu), "0.01", 0, 1e6, NULL,
     "fedprox: mu of the proximal term (mu/2)||w - x0||^2"},

    {"server.strategy", T_TABLE, OFF(strategy), "fedavg", 0, 0, NULL,
     "fedavg: synchronous rounds; async: each return aggregated alone; "
     "fedbuff: server.buffer returns at a time; fedfix: every "
     "server.fedfix_delta virtual seconds (all clients train at once); gc: "
     "distributed gradient descent with straggler mitigation (gc.*, "
     "docs/stragglers.md); scaffold: SCAFFOLD's synchronous rounds (with "
     "local.mode scaffold, docs/local-methods.md)"},
    {"server.buffer", T_INT, OFF(buffer), "10", 1, 1e9, NULL,
     "fedbuff: returns per aggregation K"},
    {"server.fedfix_delta", T_FLOAT, OFF(fedfix_delta), "0.5", 1e-9, 1e12, NULL,
     "fedfix: aggregation period, virtual seconds"},
    {"server.staleness_exponent", T_FLOAT, OFF(staleness_exponent), "0.5", 0,
     100, NULL, "fedbuff: each update weighted by (1 + staleness)^-p"},
    {"server.max_staleness", T_INT, OFF(max_staleness), "-1", -1, 1e12, NULL,
     "async strategies: drop (and count) updates staler than this many "
     "versions; -1: never"},
    {"server.async_weights", T_CHOICE, OFF(async_weights), "fraboni", 0, 0,
     NAMES("fraboni", "plain"),
     "async strategies: d_i of Fraboni et al. (async (sum_j 1/tau_j) tau_i "
     "p_i, fedfix ceil(tau_i/delta) p_i, fedbuff 1/K), or 1"},
    {"server.optimizer", T_TABLE, OFF(server_optimizer), "sgd", 0, 0, NULL,
     "server optimiser applied to the aggregated update (FedOpt)"},
    {"server.momentum", T_FLOAT, OFF(server_momentum), "0.9", 0, 0.999999, NULL,
     "momentum, and Adam's beta1"},
    {"server.beta2", T_FLOAT, OFF(server_beta2), "0.99", 0, 0.999999, NULL,
     "Adam's beta2"},
    {"server.eps", T_FLOAT, OFF(server_eps), "1e-8", 1e-15, 1, NULL,
     "Adam's epsilon"},
    {"server.weighting", T_CHOICE, OFF(server_weighting), "samples", 0, 0,
     NAMES("samples", "uniform"),
     "weight of each update: its client's number of rows, or equal"},
    {"server.lr", T_FLOAT, OFF(server_lr), "1.0", 0, 1e6, NULL,
     "server learning rate (1 = plain FedAvg)"},
    {"server.aggregator", T_CHOICE, OFF(aggregator), "fedavg", 0, 0,
     NAMES("fedavg", "mean", "median", "trimmed_mean", "krum", "multikrum",
           "nna", "monna"),
     "how a round's updates are combined: fedavg (weighted mean) or a robust "
     "rule on the separate updates (docs/robust.md)"},
    {"server.robust_f", T_INT, OFF(robust_f), "0", 0, 1e8, NULL,
     "robust rules: updates per round assumed faulty (at most)"},
    {"server.multikrum_m", T_INT, OFF(multikrum_m), "0", 0, 1e8, NULL,
     "multikrum: updates averaged (0: k - f)"},
    {"server.nna_pivot", T_CHOICE, OFF(nna_pivot), "previous", 0, 0,
     NAMES("previous", "model", "own"),
     "nna, monna: keep the updates nearest to the previous aggregate, or to "
     "the zero update (the server's current model); own: peer-to-peer, every "
     "client keeps its own model and mixes around it (needs "
     "clients.per_round = clients.num)"},

    {"model.type", T_TABLE, OFF(model_kind), "softmax", 0, 0, NULL, "model"},
    {"model.hidden", T_LIST, OFF(hidden), "256,128", 1, 1e6, NULL,
     "MLP hidden layer widths"},
    {"model.bias", T_BOOL, OFF(model_bias), "true", 0, 0, NULL,
     "layers have a bias"},
    {"model.l2", T_FLOAT, OFF(model_l2), "0", 0, 1e6, NULL,
     "L2 regulariser (l2/2)*||w||^2"},
    {"model.nonconvex_lambda", T_FLOAT, OFF(model_nonconvex), "0", 0, 1e6, NULL,
     "non-convex regulariser lambda*sum w^2/(1+w^2) (EF21 objective)"},

    {"system.dist", T_CHOICE, OFF(sys_dist), "lognormal", 0, 0,
     NAMES("constant", "uniform", "lognormal", "exponential", "fp"),
     "fp: Fraboni et al.'s F-P scenario, a job of client i lasts exactly "
     "1 - i P/(100(N-1)) seconds (no network time); others: "
     "how client speed, bandwidth and latency vary around their means"},
    {"system.fp", T_FLOAT, OFF(sys_fp), "80", 0, 99, NULL,
     "P of the fp scenario (client 0 is the slowest)"},
    {"system.sleep_scale", T_FLOAT, OFF(sys_sleep_scale), "0", 0, 1e6, NULL,
     "workers really sleep for each job's simulated duration times this "
     "(minus the time the job took); the environment variable "
     "FEDSIM_SLEEP_FACTOR multiplies it on one host, to make that host slow"},
    {"system.dropout", T_FLOAT, OFF(sys_dropout), "0", 0, 1, NULL,
     "probability that a client drops out of a job (it got the model, its "
     "update never comes; drawn from the seed per client and job)"},
    {"system.offline_fraction", T_FLOAT, OFF(sys_offline_fraction), "0", 0,
     0.99, NULL,
     "availability: each client is offline this share of every "
     "system.offline_period, from a phase drawn from the seed"},
    {"system.offline_period", T_FLOAT, OFF(sys_offline_period), "10", 1e-6,
     1e12, NULL, "availability: the period, virtual seconds"},
    {"system.spread", T_FLOAT, OFF(sys_spread), "0.5", 0, 10, NULL,
     "lognormal: sigma; uniform: values in mean*[1-spread, 1+spread]"},
    {"system.speed", T_FLOAT, OFF(sys_speed), "5000", 1e-9, 1e15, NULL,
     "mean compute speed, samples per second"},
    {"system.bw_up", T_FLOAT, OFF(sys_bw_up), "1e7", 1e-3, 1e15, NULL,
     "mean uplink bandwidth, bits per second"},
    {"system.bw_down", T_FLOAT, OFF(sys_bw_down), "5e7", 1e-3, 1e15, NULL,
     "mean downlink bandwidth, bits per second"},
    {"system.latency", T_FLOAT, OFF(sys_latency), "0.05", 0, 1e6, NULL,
     "mean one-way latency, seconds"},
    {"system.trace", T_STR, OFF(sys_trace), "", 0, 0, NULL,
     "CSV of per-client profiles (client,speed,bw_up,bw_down,latency); "
     "overrides the distribution"},

    {"compress.up", T_TABLE, OFF(comp_up), "identity", 0, 0, NULL,
     "uplink compressor applied to each client's update"},
    {"compress.up_k", T_INT, OFF(comp_up_k), "0", 0, 1e9, NULL,
     "topk/randk: entries kept (0: use compress.up_ratio)"},
    {"compress.up_ratio", T_FLOAT, OFF(comp_up_ratio), "0.01", 1e-9, 1, NULL,
     "topk/randk: share of entries kept when compress.up_k is 0"},
    {"compress.levels", T_INT, OFF(comp_levels), "16", 1, 127, NULL,
     "qsgd: quantisation levels s"},
    {"compress.block", T_INT, OFF(comp_block), "256", 1, 1e9, NULL,
     "block8: block length"},
    {"compress.down", T_TABLE, OFF(comp_down), "identity", 0, 0, NULL,
     "downlink compressor: other than identity, the server sends C(g - b) "
     "instead of the model (EF21-BC; needs ef21/ef21w and every client in "
     "every round)"},
    {"compress.down_k", T_INT, OFF(comp_down_k), "0", 0, 1e9, NULL,
     "downlink topk/randk: entries kept (0: use compress.down_ratio)"},
    {"compress.down_ratio", T_FLOAT, OFF(comp_down_ratio), "0.01", 1e-9, 1,
     NULL,
     "downlink topk/randk: share of entries kept when compress.down_k "
     "is 0"},
    {"ef.method", T_TABLE, OFF(ef_method), "none", 0, 0, NULL,
     "error feedback: none, classic EF (EF14), EF21, weighted EF21-W"},
    {"ef.stepsize", T_CHOICE, OFF(ef_stepsize), "fixed", 0, 0,
     NAMES("fixed", "theory"),
     "theory: server.lr = ef.factor * the EF21 step size from L and L_i "
     "(logreg, full or stochastic gradients)"},
    {"ef.factor", T_FLOAT, OFF(ef_factor), "1", 1e-9, 1e9, NULL,
     "multiplier on the theoretical step size"},
    {"ef.l_tilde", T_CHOICE, OFF(ef_l_tilde), "qm", 0, 0, NAMES("qm", "am"),
     "L~ in the step size: quadratic mean of L_i (EF21) or arithmetic mean "
     "(Error Feedback Reloaded; always am for ef21w)"},

    {"dp.clip", T_TABLE, OFF(dp_clip), "none", 0, 0, NULL,
     "client-level clipping of each update: flat L2 to dp.clip_norm; per "
     "layer (layer l to S sqrt(d_l/d)); DiceSGD-style clipping with error "
     "feedback (C1 = dp.clip_norm, C2 = dp.dice_ratio * C1)"},
    {"dp.clip_norm", T_FLOAT, OFF(dp_clip_norm), "1", 1e-12, 1e12, NULL,
     "clipping bound S (C1 for dice)"},
    {"dp.dice_ratio", T_FLOAT, OFF(dp_dice_ratio), "1", 0, 1e6, NULL,
     "dice: C2 / C1"},
    {"dp.noise", T_CHOICE, OFF(dp_noise), "none", 0, 0,
     NAMES("none", "central", "local"),
     "Gaussian noise: central (the server adds N(0, (z B/(qN))^2) to the "
     "average, DP-FedAvg) or local (each client adds N(0, (z B)^2)); B the "
     "clipping bound of a message"},
    {"dp.noise_multiplier", T_FLOAT, OFF(dp_z), "1", 0, 1e6, NULL,
     "z (ignored when dp.target_epsilon is set)"},
    {"dp.target_epsilon", T_FLOAT, OFF(dp_target_eps), "0", 0, 1e6, NULL,
     "> 0: choose z before the run so that the run ends at this epsilon"},
    {"dp.delta", T_FLOAT, OFF(dp_delta), "1e-5", 1e-300, 0.5, NULL,
     "delta of the (epsilon, delta) guarantee"},
    {"dp.conversion", T_CHOICE, OFF(dp_conversion), "improved", 0, 0,
     NAMES("classic", "improved"),
     "RDP to (epsilon, delta): classic (Mironov 2017) or improved (Balle et "
     "al. 2020)"},
    {"secure.seal", T_BOOL, OFF(secure_seal), "false", 0, 0, NULL,
     "authenticate and encrypt every frame (XChaCha20-Poly1305, crypto_kx "
     "keys; docs/sealed-frames.md): altered, replayed or forged frames are "
     "refused and counted (rejected_frames)"},
    {"secure.tamper_rate", T_FLOAT, OFF(secure_tamper_rate), "0", 0, 1, NULL,
     "test hook: fraction of uplink frames altered in flight (a byte "
     "flipped, forged or replayed; seeded); needs secure.seal"},

    {"faults.fraction", T_FLOAT, OFF(fault_fraction), "0", 0, 1, NULL,
     "share of the clients that are faulty (a fixed set drawn from the seed)"},
    {"faults.kind", T_CHOICE, OFF(fault_kind), "none", 0, 0,
     NAMES("none", "sign_flip", "scale", "noise", "label_flip", "nan", "inf"),
     "what faulty clients send: -u, faults.scale * u, Gaussian noise, the "
     "update of training on labels C-1-y, or NaN / Inf values"},
    {"faults.scale", T_FLOAT, OFF(fault_scale), "10", -1e6, 1e6, NULL,
     "scale: the factor on a faulty client's update"},
    {"faults.noise_std", T_FLOAT, OFF(fault_noise_std), "1", 0, 1e6, NULL,
     "noise: standard deviation of each sent coordinate"},
    {"secure.aggregation", T_CHOICE, OFF(sa_mode), "none", 0, 0,
     NAMES("none", "secagg"),
     "secagg: pairwise-masked secure aggregation (Bonawitz et al. 2017, "
     "SecAgg+ neighbour graph): the server sees only masked Z_2^32 vectors "
     "(synchronous FedAvg, uncompressed uplink, no DP)"},
    {"secure.clip", T_FLOAT, OFF(sa_clip), "1", 1e-30, 1e30, NULL,
     "secagg: each coordinate of a (weighted) update is clipped to [-c, c] "
     "before quantisation"},
    {"secure.bits", T_INT, OFF(sa_bits), "16", 1, 31, NULL,
     "secagg: quantisation levels 2^bits; clients per round x 2^bits must "
     "stay below 2^32"},
    {"secure.degree", T_INT, OFF(sa_degree), "0", 0, 1e8, NULL,
     "secagg: neighbours per client (0: the smallest even k >= 2 log2 n that "
     "survives secure.dropout with probability 1 - 1e-6; n - 1 or more: "
     "every pair, as in the original protocol)"},
    {"secure.dropout", T_FLOAT, OFF(sa_dropout), "0", 0, 0.9, NULL,
     "secagg: each client drops with this probability after sending its "
     "shares, before its masked update (the server recovers its masks)"},

    {"eval.every", T_INT, OFF(eval_every), "1", 1, 1e9, NULL,
     "evaluate every k rounds (and after the last)"},
    {"eval.objective", T_CHOICE, OFF(eval_objective), "pooled", 0, 0,
     NAMES("pooled", "clients"),
     "train_loss and grad_norm_sq of the pooled rows, or of mean_i f_i "
     "(every client weighted equally, as in the EF21 papers)"},
    {"eval.targets", T_FLIST, OFF(eval_targets), "", 0, 1, NULL,
     "test-accuracy targets: summary.json reports the bits per client at "
     "which each was first reached"},
    {"eval.grad_targets", T_FLIST, OFF(eval_grad_targets), "", 0, 1e300, NULL,
     "||grad f||^2 thresholds, reported like eval.targets"},
    {"eval.grad_norm", T_CHOICE, OFF(eval_grad_norm), "auto", 0, 0,
     NAMES("auto", "on", "off"), "compute ||grad f(x)||^2 on the training set"},
    {"eval.grad_norm_max_dim", T_INT, OFF(eval_grad_norm_max_dim), "20000", 0,
     1e12, NULL, "auto: only for models with at most this many parameters"},

    {"gc.scheme", T_CHOICE, OFF(gc_scheme), "cr", 0, 0,
     NAMES("none", "ignore", "fr", "cr", "sr-sgc", "m-sgc"),
     "straggler mitigation (server.strategy gc; clients.num workers): none "
     "waits for all; ignore takes the fastest n-s (biased); fr, cr: gradient "
     "coding (fractional, cyclic repetition); sr-sgc, m-sgc: sequential "
     "gradient coding"},
    {"gc.s", T_INT, OFF(gc_s), "1", 0, 1e6, NULL,
     "stragglers tolerated per round (ignore, fr, cr)"},
    {"gc.B", T_INT, OFF(gc_B), "1", 1, 4096, NULL,
     "sr-sgc, m-sgc: burst length B of the (B, W, lambda) model"},
    {"gc.W", T_INT, OFF(gc_W), "2", 2, 4096, NULL,
     "sr-sgc, m-sgc: window W of the (B, W, lambda) model"},
    {"gc.lambda", T_INT, OFF(gc_lambda), "1", 0, 1e6, NULL,
     "sr-sgc, m-sgc: stragglers per window lambda"},
    {"gc.code", T_CHOICE, OFF(gc_code), "cr", 0, 0, NAMES("fr", "cr"),
     "sr-sgc, m-sgc: code of their coded parts"},
    {"gc.straggler", T_CHOICE, OFF(gc_straggler), "iid", 0, 0,
     NAMES("none", "iid", "bursty", "exp", "pareto", "lognormal", "trace"),
     "straggler model: per-round slow-down factor of each worker"},
    {"gc.p", T_FLOAT, OFF(gc_p), "0.1", 0, 1, NULL,
     "iid: straggle probability per worker and round; bursty: probability "
     "that a worker starts a burst"},
    {"gc.slowdown", T_FLOAT, OFF(gc_slowdown), "5", 1e-9, 1e9, NULL,
     "iid, bursty: a straggler's slow-down factor"},
    {"gc.param", T_FLOAT, OFF(gc_param), "1", 1e-9, 1e9, NULL,
     "exp: mean extra factor; pareto: shape; lognormal: sigma"},
    {"gc.straggler_B", T_INT, OFF(gc_strag_B), "0", 0, 4096, NULL,
     "bursty model's B (0: gc.B)"},
    {"gc.straggler_W", T_INT, OFF(gc_strag_W), "0", 0, 4096, NULL,
     "bursty model's W (0: gc.W)"},
    {"gc.straggler_lambda", T_INT, OFF(gc_strag_lambda), "0", 0, 1e6, NULL,
     "bursty model's lambda (0: gc.lambda)"},
    {"gc.trace", T_STR, OFF(gc_trace), "", 0, 0, NULL,
     "trace: CSV file round,worker,factor"},
    {"gc.models", T_INT, OFF(gc_models), "1", 1, 64, NULL,
     "models trained concurrently (job t belongs to model t mod K; K >= T+1 "
     "keeps sr-sgc and m-sgc gradients fresh); metrics.csv evaluates model "
     "0"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* The tables of the T_TABLE options, registered by the driver
 * (app/tables.c) before any configuration is made. */
static struct {
  const char *key;
  fs_choice_set set;
} tables[N_OPTIONS];
static size_t n_tables;

void fs_config_use_table(const char *key, fs_choice_set set) {
  for (size_t i = 0; i < n_tables; i++)
    if (strcmp(tables[i].key, key) == 0) {
      tables[i].set = set;
      return;
    }
  if (n_tables == N_OPTIONS) {
    fprintf(stderr, "fedsim: too many tables (%s)\n", key);
    abort();
  }
  tables[n_tables].key = key;
  tables[n_tables++].set = set;
}

/* The table of a T_TABLE option; a table not registered is a programmer
 * mistake (the driver registers every one). */
static const fs_choice_set *table_of(const char *key) {
  for (size_t i = 0; i < n_tables; i++)
    if (strcmp(tables[i].key, key) == 0)
      return &tables[i].set;
  fprintf(stderr,
          "fedsim: no table registered for %s (fs_app_register_tables)\n", key);
  abort();
}

static int table_index(const char *key, const char *v) {
  const fs_choice_set *t = table_of(key);
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(fs_choice_at(t, i)->name, v) == 0)
      return (int)i;
  return -1;
}

static const char *table_name(const char *key, int i) {
  const fs_choice_set *t = table_of(key);
  return i >= 0 && (size_t)i < t->n ? fs_choice_at(t, (size_t)i)->name : "?";
}

static const char *table_list(const char *key, char *buf, size_t len) {
  const fs_choice_set *t = table_of(key);
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < t->n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "",
                             fs_choice_at(t, i)->name);
  return buf;
}

/* Command-line short forms. */
static const struct {
  const char *flag, *key;
} aliases[] = {
    {"seed", "run.seed"},          {"rounds", "run.rounds"},
    {"out", "run.out_dir"},        {"name", "run.name"},
    {"clients", "clients.num"},    {"per-round", "clients.per_round"},
    {"data", "data.source"},       {"model", "model.type"},
    {"epochs", "local.epochs"},    {"lr", "local.lr"},
    {"batch", "local.batch_size"}, {"checkpoint-every", "run.checkpoint_every"},
    {"resume", "run.resume"}};

static const opt *find_opt(const char *key) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (strcmp(options[i].key, key) == 0)
      return &options[i];
  return NULL;
}

/* Index of v among a choice's names, or -1. */
static int choice_index(const char *const *names, const char *v) {
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], v) == 0)
      return i;
  return -1;
}

/* The i-th name ("?" if out of range: a corrupt config value). */
static const char *choice_name(const char *const *names, int i) {
  for (int k = 0; names[k] != NULL; k++)
    if (k == i)
      return names[k];
  return "?";
}

/* "a|b|c" into buf, for help and messages. */
static const char *choice_list(const char *const *names, char *buf,
                               size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; names[i] != NULL && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "",
                             names[i]);
  return buf;
}

/* A choice option's names, whether its own or its table's. */
static int opt_index(const opt *o, const char *v) {
  return o->type == T_TABLE ? table_index(o->key, v)
                            : choice_index(o->names, v);
}
static const char *opt_name(const opt *o, const char *base) {
  int i = *(const int *)(const void *)base; /* the enum, or the row index */
  return o->type == T_TABLE ? table_name(o->key, i) : choice_name(o->names, i);
}
static const char *opt_list(const opt *o, char *buf, size_t len) {
  return o->type == T_TABLE ? table_list(o->key, buf, len)
                            : choice_list(o->names, buf, len);
}

static fs_status parse_int(const opt *o, const char *v, int64_t *out,
                           fs_err *err) {
  errno = 0;
  char *end = NULL;
  /* Accept "1e4"-style integers too (written by people in YAML). */
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d) ||
      d != floor(d))
    return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not an integer", o->key, v);
  if (d < o->min || d > o->max)
    return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%.0f, %.0f]",
                      o->key, v, o->min, o->max);
  *out = (int64_t)d;
  return FS_OK;
}

static fs_status set_opt(fs_config *cfg, const opt *o, const char *v,
                         fs_err *err) {
  char *base = (char *)cfg + o->offset;
  switch (o->type) {
  case T_INT:
  case T_UINT: {
    int64_t x;
    fs_status st;
    if (o->type == T_UINT) {
      /* A seed is any 64-bit unsigned integer. */
      errno = 0;
      char *end = NULL;
      if (v[0] == '-' || v[0] == '\0')
        return fs_err_set(err, FS_ECONFIG,
                          "%s: '%s' is not a non-negative integer", o->key, v);
      unsigned long long u = strtoull(v, &end, 10);
      if (*end != '\0' || errno == ERANGE)
        return fs_err_set(err, FS_ECONFIG,
                          "%s: '%s' is not a non-negative integer", o->key, v);
      *(uint64_t *)(void *)base = (uint64_t)u;
      return FS_OK;
    }
    if ((st = parse_int(o, v, &x, err)) != FS_OK)
      return st;
    *(int64_t *)(void *)base = x;
    return FS_OK;
  }
  case T_FLOAT: {
    errno = 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d))
      return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not a finite number",
                        o->key, v);
    if (d < o->min || d > o->max)
      return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%g, %g]",
                        o->key, v, o->min, o->max);
    *(double *)(void *)base = d;
    return FS_OK;
  }
  case T_BOOL: {
    int b;
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
        !strcmp(v, "1"))
      b = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") ||
             !strcmp(v, "0"))
      b = 0;
    else
      return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not true or false",
                        o->key, v);
    *(int *)(void *)base = b;
    return FS_OK;
  }
  case T_CHOICE:
  case T_TABLE: {
    int i = opt_index(o, v);
    char list[FS_CFG_STR];
    if (i < 0)
      return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not one of %s", o->key, v,
                        opt_list(o, list, sizeof list));
    *(int *)(void *)base = i; /* the enum of fs_config.h: the row's index */
    return FS_OK;
  }
  case T_STR:
    if (strlen(v) >= FS_CFG_STR)
      return fs_err_set(err, FS_ECONFIG, "%s: value longer than %d bytes",
                        o->key, FS_CFG_STR - 1);
    snprintf(base, FS_CFG_STR, "%s", v);
    return FS_OK;
  case T_FLIST: {
    fs_cfg_flist tmp = {0};
    char buf[FS_CFG_STR];
    if (strlen(v) >= sizeof buf)
      return fs_err_set(err, FS_ECONFIG, "%s: list too long", o->key);
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", []", &save); tok;
         tok = strtok_r(NULL, ", []", &save)) {
      if (tmp.n == FS_CFG_MAX_LIST)
        return fs_err_set(err, FS_ECONFIG, "%s: more than %d entries", o->key,
                          FS_CFG_MAX_LIST);
      errno = 0;
      char *end = NULL;
      double d = strtod(tok, &end);
      if (end == tok || *end != '\0' || errno == ERANGE || !isfinite(d))
        return fs_err_set(err, FS_ECONFIG, "%s: '%s' is not a finite number",
                          o->key, tok);
      if (d < o->min || d > o->max)
        return fs_err_set(err, FS_ECONFIG, "%s: %s is out of range [%g, %g]",
                          o->key, tok, o->min, o->max);
      tmp.v[tmp.n++] = d;
    }
    *(fs_cfg_flist *)(void *)base = tmp;
    return FS_OK;
  }
  case T_LIST: {
    int64_t tmp[FS_CFG_MAX_HIDDEN];
    size_t n = 0;
    char buf[FS_CFG_STR];
    if (strlen(v) >= sizeof buf)
      return fs_err_set(err, FS_ECONFIG, "%s: list too long", o->key);
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", []", &save); tok;
         tok = strtok_r(NULL, ", []", &save)) {
      if (n == FS_CFG_MAX_HIDDEN)
        return fs_err_set(err, FS_ECONFIG, "%s: more than %d entries", o->key,
                          FS_CFG_MAX_HIDDEN);
      fs_status st = parse_int(o, tok, &tmp[n], err);
      if (st != FS_OK)
        return st;
      n++;
    }
    if (n == 0)
      return fs_err_set(err, FS_ECONFIG, "%s: empty list", o->key);
    memcpy(cfg->hidden, tmp, n * sizeof tmp[0]);
    cfg->n_hidden = n;
    return FS_OK;
  }
  }
  return fs_err_set(err, FS_EINVAL, "%s: bad option type", o->key);
}

void fs_config_defaults(fs_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    fs_status st = set_opt(cfg, &options[i], options[i].def, NULL);
    if (st != FS_OK) {
      fprintf(stderr, "fedsim: bad built-in default for %s\n", options[i].key);
      abort();
    }
  }
}

fs_status fs_config_set(fs_config *cfg, const char *key, const char *value,
                        fs_err *err) {
  const opt *o = find_opt(key);
  if (o == NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "unknown option '%s' (fedsim --help lists them)", key);
  return set_opt(cfg, o, value, err);
}

const char *fs_config_choice_at(const fs_config *cfg, size_t offset) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if ((options[i].type == T_CHOICE || options[i].type == T_TABLE) &&
        options[i].offset == offset)
      return opt_name(&options[i], (const char *)cfg + offset);
  fprintf(stderr, "fedsim: no choice option at offset %zu\n", offset);
  abort(); /* a programmer mistake: FS_CFG_NAME on a field that is no choice */
}

const fs_choice *fs_config_row(const fs_config *cfg, const char *key) {
  const opt *o = find_opt(key);
  if (o == NULL || o->type != T_TABLE) {
    fprintf(stderr, "fedsim: %s is no table option\n", key);
    abort(); /* a programmer mistake */
  }
  const fs_choice_set *t = table_of(key);
  int i = *(const int *)(const void *)((const char *)cfg + o->offset);
  return fs_choice_at(t, (size_t)i);
}

/* Every chosen row's own rules (fs_choice.check). */
static fs_status check_rows(const fs_config *cfg, fs_err *err) {
  for (size_t i = 0; i < N_OPTIONS; i++) {
    if (options[i].type != T_TABLE)
      continue;
    const fs_choice *row = fs_config_row(cfg, options[i].key);
    if (row->check != NULL) {
      fs_status st = row->check(cfg, err);
      if (st != FS_OK)
        return st;
    }
  }
  return FS_OK;
}

const char *fs_config_choice(size_t opt_i, size_t value_i, const char **key) {
  size_t seen = 0;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const opt *o = &options[i];
    if (o->type != T_CHOICE && o->type != T_TABLE)
      continue;
    if (seen++ != opt_i)
      continue;
    *key = o->key;
    if (o->type == T_TABLE) {
      const fs_choice_set *t = table_of(o->key);
      return value_i < t->n ? fs_choice_at(t, value_i)->name : NULL;
    }
    for (size_t k = 0; o->names[k] != NULL; k++)
      if (k == value_i)
        return o->names[k];
    return NULL;
  }
  *key = NULL;
  return NULL;
}

fs_status fs_config_get(const fs_config *cfg, const char *key, char *buf,
                        size_t len) {
  const opt *o = find_opt(key);
  if (o == NULL)
    return FS_EINVAL;
  const char *base = (const char *)cfg + o->offset;
  switch (o->type) {
  case T_INT:
    snprintf(buf, len, "%lld", (long long)*(const int64_t *)(const void *)base);
    break;
  case T_UINT:
    snprintf(buf, len, "%llu",
             (unsigned long long)*(const uint64_t *)(const void *)base);
    break;
  case T_FLOAT:
    snprintf(buf, len, "%.17g", *(const double *)(const void *)base);
    break;
  case T_BOOL:
    snprintf(buf, len, "%s",
             *(const int *)(const void *)base ? "true" : "false");
    break;
  case T_STR:
    snprintf(buf, len, "%s", base);
    break;
  case T_CHOICE:
  case T_TABLE:
    snprintf(buf, len, "%s", opt_name(o, base));
    break;
  case T_FLIST: {
    const fs_cfg_flist *l = (const fs_cfg_flist *)(const void *)base;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < len; i++)
      used += (size_t)snprintf(buf + used, len - used, "%s%.17g", i ? "," : "",
                               l->v[i]);
    break;
  }
  case T_LIST: {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cfg->n_hidden && used < len; i++)
      used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "",
                               (long long)cfg->hidden[i]);
    break;
  }
  }
  return FS_OK;
}

/* ---- YAML ---------------------------------------------------------------- */

typedef struct {
  yaml_parser_t parser;
  const char *path;
  fs_config *cfg;
  fs_err *err;
} yaml_ctx;

static fs_status yaml_next(yaml_ctx *c, yaml_event_t *ev) {
  if (!yaml_parser_parse(&c->parser, ev))
    return fs_err_set(c->err, FS_ECONFIG, "%s:%zu:%zu: YAML error: %s", c->path,
                      c->parser.problem_mark.line + 1,
                      c->parser.problem_mark.column + 1,
                      c->parser.problem ? c->parser.problem : "unknown");
  return FS_OK;
}

static fs_status apply_value(yaml_ctx *c, const char *key, const char *value,
                             size_t line) {
  fs_err e = {0};
  fs_status st = fs_config_set(c->cfg, key, value, &e);
  if (st != FS_OK)
    return fs_err_set(c->err, st, "%s:%zu: %s", c->path, line, e.msg);
  return FS_OK;
}

/* Parse the value of `key` whose first event is ev (already consumed). */
static fs_status yaml_value(yaml_ctx *c, const char *key, yaml_event_t *ev);

static fs_status yaml_mapping(yaml_ctx *c, const char *prefix) {
  for (;;) {
    yaml_event_t kev;
    fs_status st = yaml_next(c, &kev);
    if (st != FS_OK)
      return st;
    if (kev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&kev);
      return FS_OK;
    }
    if (kev.type != YAML_SCALAR_EVENT) {
      size_t line = kev.start_mark.line + 1;
      yaml_event_delete(&kev);
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: a key must be a plain name", c->path, line);
    }
    char key[FS_CFG_STR];
    int n = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "",
                     (const char *)kev.data.scalar.value);
    yaml_event_delete(&kev);
    if (n < 0 || (size_t)n >= sizeof key)
      return fs_err_set(c->err, FS_ECONFIG, "%s: key too long", c->path);
    yaml_event_t vev;
    if ((st = yaml_next(c, &vev)) != FS_OK)
      return st;
    st = yaml_value(c, key, &vev);
    if (st != FS_OK)
      return st;
  }
}

static fs_status yaml_value(yaml_ctx *c, const char *key, yaml_event_t *ev) {
  size_t line = ev->start_mark.line + 1;
  fs_status st = FS_OK;
  if (ev->type == YAML_SCALAR_EVENT) {
    st = apply_value(c, key, (const char *)ev->data.scalar.value, line);
    yaml_event_delete(ev);
    return st;
  }
  if (ev->type == YAML_MAPPING_START_EVENT) {
    yaml_event_delete(ev);
    /* A mapping under a key that is itself an option is a type error. */
    if (find_opt(key) != NULL)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: %s: expected a value, found a mapping",
                        c->path, line, key);
    /* Is any option under this prefix? Otherwise name the unknown section. */
    size_t kl = strlen(key);
    int known = 0;
    for (size_t i = 0; i < N_OPTIONS && !known; i++)
      known =
          strncmp(options[i].key, key, kl) == 0 && options[i].key[kl] == '.';
    if (!known)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: unknown section '%s' (fedsim --help lists "
                        "the options)",
                        c->path, line, key);
    return yaml_mapping(c, key);
  }
  if (ev->type == YAML_SEQUENCE_START_EVENT) {
    yaml_event_delete(ev);
    char list[FS_CFG_STR] = "";
    size_t used = 0;
    for (;;) {
      yaml_event_t iev;
      if ((st = yaml_next(c, &iev)) != FS_OK)
        return st;
      if (iev.type == YAML_SEQUENCE_END_EVENT) {
        yaml_event_delete(&iev);
        break;
      }
      if (iev.type != YAML_SCALAR_EVENT) {
        yaml_event_delete(&iev);
        return fs_err_set(c->err, FS_ECONFIG,
                          "%s:%zu: %s: a list may hold only plain values",
                          c->path, line, key);
      }
      int n = snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "",
                       (const char *)iev.data.scalar.value);
      yaml_event_delete(&iev);
      if (n < 0 || used + (size_t)n >= sizeof list)
        return fs_err_set(c->err, FS_ECONFIG, "%s:%zu: %s: list too long",
                          c->path, line, key);
      used += (size_t)n;
    }
    const opt *o = find_opt(key);
    if (o != NULL && o->type != T_LIST && o->type != T_FLIST)
      return fs_err_set(c->err, FS_ECONFIG,
                        "%s:%zu: %s: expected a single value, found a list",
                        c->path, line, key);
    return apply_value(c, key, list, line);
  }
  yaml_event_delete(ev);
  return fs_err_set(c->err, FS_ECONFIG,
                    "%s:%zu: %s: unsupported YAML (anchors and aliases are not "
                    "read)",
                    c->path, line, key);
}

fs_status fs_config_load_yaml(fs_config *cfg, const char *path, fs_err *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return fs_err_set(err, FS_EIO, "%s: cannot open: %s", path,
                      strerror(errno));
  yaml_ctx c = {.path = path, .cfg = cfg, .err = err};
  if (!yaml_parser_initialize(&c.parser)) {
    fclose(f);
    return fs_err_set(err, FS_ENOMEM, "%s: cannot start the YAML parser", path);
  }
  yaml_parser_set_input_file(&c.parser, f);
  fs_status st = FS_OK;
  int done = 0, in_doc = 0;
  while (!done && st == FS_OK) {
    yaml_event_t ev;
    if ((st = yaml_next(&c, &ev)) != FS_OK)
      break;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      yaml_event_delete(&ev);
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (in_doc++) {
        st = fs_err_set(err, FS_ECONFIG, "%s: more than one YAML document",
                        path);
      }
      yaml_event_delete(&ev);
      break;
    case YAML_MAPPING_START_EVENT:
      yaml_event_delete(&ev);
      st = yaml_mapping(&c, "");
      break;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      size_t line = ev.start_mark.line + 1;
      yaml_event_delete(&ev);
      st = fs_err_set(err, FS_ECONFIG,
                      "%s:%zu: the top level must be a mapping of sections",
                      path, line);
      break;
    }
    default:
      yaml_event_delete(&ev);
      break;
    }
  }
  yaml_parser_delete(&c.parser);
  fclose(f);
  return st;
}

/* Secure aggregation: what it supports, and no overflow in Z_2^32 for the
 * largest cohort (clients.num with Poisson sampling). */
static fs_status sa_config_check(const fs_config *cfg, fs_err *err) {
  const char *why =
      cfg->strategy != FS_CFG_STRATEGY_FEDAVG ? "server.strategy must be fedavg"
      : cfg->comp_up != FS_CFG_COMP_IDENTITY
          ? "compress.up must be identity (a masked vector is dense)"
      : cfg->ef_method != FS_CFG_EF_NONE ? "ef.method must be none"
      : cfg->comp_down != FS_CFG_COMP_IDENTITY
          ? "compress.down must be identity"
      : cfg->dp_clip != FS_CFG_CLIP_NONE
          ? "dp.clip must be none (secure aggregation with DP noise is not "
            "supported yet)"
      : (cfg->sa_dropout > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
          ? "secure.dropout needs the virtual clock"
          : NULL;
  if (why != NULL)
    return fs_err_set(err, FS_ECONFIG,
                      "secure.aggregation: secagg is not supported here: %s",
                      why);
  int64_t n =
      cfg->sampling == FS_CFG_SAMPLING_POISSON ? cfg->clients : cfg->per_round;
  if (n > UINT32_MAX)
    n = UINT32_MAX;
  fs_sa_params p;
  fs_err e = {0};
  fs_status st = fs_sa_params_make(
      (uint32_t)(n < 2 ? 2 : n), (uint32_t)cfg->sa_bits, cfg->sa_clip,
      (uint32_t)cfg->sa_degree, cfg->sa_dropout, &p, &e);
  if (st != FS_OK)
    return fs_err_set(err, FS_ECONFIG, "%s (cohorts of up to %lld clients)",
                      e.msg, (long long)n);
  return FS_OK;
}

const char *fs_config_ckpt_unsupported(const fs_config *cfg) {
  if (cfg->strategy == FS_CFG_STRATEGY_GC)
    return "server.strategy gc (its models and straggler schedule)";
  if (cfg->strategy == FS_CFG_STRATEGY_SCAFFOLD)
    return "server.strategy scaffold (its control variates c and c_i)";
  if (cfg->clock == FS_CFG_CLOCK_WALL &&
      cfg->strategy != FS_CFG_STRATEGY_FEDAVG)
    return "the asynchronous strategies on the wall clock (run.clock wall)";
  if (cfg->secure_tamper_rate > 0)
    return "secure.tamper_rate (a test hook: which frames it alters follows "
           "the sessions' counters, which restart under a resumed run's "
           "fresh keys)";
  return NULL;
}

fs_status fs_config_validate(const fs_config *cfg, fs_err *err) {
  fs_status rst = check_rows(cfg, err);
  if (rst != FS_OK)
    return rst;
  if (cfg->per_round > cfg->clients)
    return fs_err_set(err, FS_ECONFIG,
                      "clients.per_round: %lld is more than clients.num (%lld)",
                      (long long)cfg->per_round, (long long)cfg->clients);
  if (cfg->data_source == FS_CFG_DATA_LIBSVM && cfg->data_path[0] == '\0')
    return fs_err_set(err, FS_ECONFIG,
                      "data.path: data.source is libsvm but no file is given");
  if (cfg->data_source == FS_CFG_DATA_IDX &&
      (cfg->data_path[0] == '\0' || cfg->data_labels_path[0] == '\0'))
    return fs_err_set(err, FS_ECONFIG,
                      "data.path, data.labels_path: data.source is idx but "
                      "the image or label file is missing");
  /* The EF21 family (its rows' flag; compress/ef.h). ef.method's and
   * dp.clip's own rules are their rows' checks (check_rows, above). */
  int ef21 = (fs_ef_method_at((size_t)cfg->ef_method)->flags & FS_EF_21) != 0;
  if (cfg->ef_stepsize == FS_CFG_STEPSIZE_THEORY &&
      (cfg->model_kind != FS_CFG_MODEL_LOGREG ||
       (cfg->local_mode != FS_CFG_LOCAL_FULL_GRADIENT &&
        cfg->local_mode != FS_CFG_LOCAL_STOCHASTIC_GRADIENT)))
    return fs_err_set(err, FS_ECONFIG,
                      "ef.stepsize: 'theory' needs model.type logreg and "
                      "local.mode full_gradient or stochastic_gradient");
  if (cfg->strategy != FS_CFG_STRATEGY_FEDAVG && ef21)
    return fs_err_set(err, FS_ECONFIG,
                      "server.strategy: %s with ef.method %s: the EF21 "
                      "family runs with synchronous rounds (fedavg)",
                      FS_CFG_NAME(cfg, strategy), FS_CFG_NAME(cfg, ef_method));
  if (cfg->strategy != FS_CFG_STRATEGY_FEDAVG && cfg->buffer > cfg->clients &&
      cfg->strategy == FS_CFG_STRATEGY_FEDBUFF)
    return fs_err_set(err, FS_ECONFIG,
                      "server.buffer: %lld is more than clients.num (%lld)",
                      (long long)cfg->buffer, (long long)cfg->clients);
  if (cfg->server_optimizer != FS_CFG_OPT_SGD && ef21)
    return fs_err_set(err, FS_ECONFIG,
                      "server.optimizer: %s with ef.method %s: EF21 steps "
                      "with plain SGD",
                      FS_CFG_NAME(cfg, server_optimizer),
                      FS_CFG_NAME(cfg, ef_method));
  int dp = cfg->dp_clip != FS_CFG_CLIP_NONE;
  if (cfg->dp_noise != FS_CFG_NOISE_NONE && !dp)
    return fs_err_set(err, FS_ECONFIG,
                      "dp.noise: noise without clipping protects nothing "
                      "(set dp.clip)");
  if (cfg->sampling == FS_CFG_SAMPLING_POISSON &&
      cfg->strategy != FS_CFG_STRATEGY_FEDAVG)
    return fs_err_set(err, FS_ECONFIG,
                      "clients.sampling: poisson sampling is for synchronous "
                      "rounds (server.strategy fedavg)");
  if (cfg->sys_offline_fraction > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
    return fs_err_set(err, FS_ECONFIG,
                      "system.offline_fraction: simulated availability needs "
                      "the virtual clock");
  if (cfg->sys_dropout > 0 && cfg->clock == FS_CFG_CLOCK_WALL)
    return fs_err_set(err, FS_ECONFIG,
                      "system.dropout: simulated dropouts need the virtual "
                      "clock (on real hardware, clients drop out by "
                      "themselves)");
  if (cfg->aggregator != FS_CFG_AGG_FEDAVG) {
    const char *why =
        cfg->strategy != FS_CFG_STRATEGY_FEDAVG
            ? "aggregates the separate updates of a synchronous round "
              "(server.strategy fedavg)"
        : ef21 ? "needs messages that are updates; EF21 messages are "
                 "increments of each client's estimate (use ef.method none "
                 "or ef14)"
        : dp   ? "is not combined with differential privacy (dp.clip): "
                 "its sensitivity analysis assumes the mean"
        : cfg->sa_mode == FS_CFG_SA_SECAGG
            ? "needs the separate updates, which secure aggregation "
              "(secure.aggregation secagg) hides from the server"
        : cfg->sampling == FS_CFG_SAMPLING_POISSON
            ? "needs a fixed number of clients per round (clients.sampling "
              "fixed)"
            : NULL;
    if (why != NULL)
      return fs_err_set(err, FS_ECONFIG, "server.aggregator: %s %s",
                        FS_CFG_NAME(cfg, aggregator), why);
  }
  if (cfg->nna_pivot == FS_CFG_PIVOT_OWN &&
      ((cfg->aggregator != FS_CFG_AGG_NNA &&
        cfg->aggregator != FS_CFG_AGG_MONNA) ||
       cfg->per_round != cfg->clients))
    return fs_err_set(err, FS_ECONFIG,
                      "server.nna_pivot: own (peer-to-peer) needs "
                      "server.aggregator nna or monna and every client in "
                      "every round (clients.per_round = clients.num)");
  if (cfg->fault_fraction > 0 && cfg->fault_kind == FS_CFG_FAULT_NONE)
    return fs_err_set(err, FS_ECONFIG,
                      "faults.kind: faults.fraction is %g but faults.kind is "
                      "none (sign_flip, scale, noise, label_flip, nan, inf)",
                      cfg->fault_fraction);
  if (cfg->sa_mode == FS_CFG_SA_SECAGG) {
    fs_status st = sa_config_check(cfg, err);
    if (st != FS_OK)
      return st;
  }
  if (cfg->comp_down != FS_CFG_COMP_IDENTITY &&
      (!ef21 || cfg->per_round != cfg->clients))
    return fs_err_set(err, FS_ECONFIG,
                      "compress.down: a compressed downlink is EF21-BC: it "
                      "needs ef.method ef21 or ef21w and clients.per_round = "
                      "clients.num (every client follows every broadcast)");
  if (cfg->strategy == FS_CFG_STRATEGY_GC &&
      (cfg->clock != FS_CFG_CLOCK_VIRTUAL || dp ||
       cfg->ef_method != FS_CFG_EF_NONE ||
       cfg->comp_up != FS_CFG_COMP_IDENTITY || cfg->sys_dropout > 0 ||
       cfg->sys_offline_fraction > 0 || cfg->time_budget > 0))
    return fs_err_set(err, FS_ECONFIG,
                      "server.strategy: gc (gradient coding) runs on the "
                      "virtual clock without DP, error feedback, uplink "
                      "compression, dropouts, offline windows or a time "
                      "budget");
  const char *nock = fs_config_ckpt_unsupported(cfg);
  if (nock != NULL && (cfg->checkpoint_every > 0 || cfg->resume[0] != '\0'))
    return fs_err_set(err, FS_ECONFIG, "%s: checkpoints do not cover %s yet",
                      cfg->checkpoint_every > 0 ? "run.checkpoint_every"
                                                : "run.resume",
                      nock);
  if (cfg->secure_tamper_rate > 0 && !cfg->secure_seal)
    return fs_err_set(err, FS_ECONFIG,
                      "secure.tamper_rate: tampering tests sealed frames; "
                      "set secure.seal: true (unsealed frames altered in "
                      "flight cannot be detected)");
  return FS_OK;
}

/* ---- command line ---------------------------------------------------------
 */

static const char *alias_key(const char *flag) {
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcmp(aliases[i].flag, flag))
      return aliases[i].key;
  return NULL;
}

fs_status fs_config_from_args(fs_config *cfg, int argc, char **argv,
                              fs_cli_action *action, fs_err *err) {
  fs_config_defaults(cfg);
  *action = FS_CLI_RUN;
  /* Pass 1: --help, --version, --config. */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      *action = FS_CLI_HELP;
      return FS_OK;
    }
    if (!strcmp(a, "--version")) {
      *action = FS_CLI_VERSION;
      return FS_OK;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *path = NULL;
    if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
      if (i + 1 >= argc)
        return fs_err_set(err, FS_ECONFIG, "%s needs a file name", argv[i]);
      path = argv[++i];
    } else if (!strncmp(argv[i], "--config=", 9)) {
      path = argv[i] + 9;
    }
    if (path != NULL) {
      fs_status st = fs_config_load_yaml(cfg, path, err);
      if (st != FS_OK)
        return st;
    }
  }
  /* Pass 2: everything else, in order (later wins). */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--config") || !strcmp(a, "-c")) {
      i++;
      continue;
    }
    if (!strncmp(a, "--config=", 9))
      continue;
    char keybuf[FS_CFG_STR];
    const char *value = NULL;
    if (!strcmp(a, "--set") || !strcmp(a, "-s")) {
      if (i + 1 >= argc)
        return fs_err_set(err, FS_ECONFIG, "%s needs KEY=VALUE", a);
      const char *kv = argv[++i];
      const char *eq = strchr(kv, '=');
      if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof keybuf)
        return fs_err_set(err, FS_ECONFIG,
                          "--set '%s': expected section.key=value", kv);
      memcpy(keybuf, kv, (size_t)(eq - kv));
      keybuf[eq - kv] = '\0';
      value = eq + 1;
    } else if (!strncmp(a, "--", 2) && a[2] != '\0') {
      const char *name = a + 2;
      const char *eq = strchr(name, '=');
      size_t nl = eq ? (size_t)(eq - name) : strlen(name);
      if (nl >= sizeof keybuf)
        return fs_err_set(err, FS_ECONFIG, "option '%s' is too long", a);
      memcpy(keybuf, name, nl);
      keybuf[nl] = '\0';
      const char *ak = alias_key(keybuf);
      if (ak != NULL)
        snprintf(keybuf, sizeof keybuf, "%s", ak);
      if (find_opt(keybuf) == NULL)
        return fs_err_set(err, FS_ECONFIG,
                          "unknown option '%s' (fedsim --help lists them)", a);
      if (eq != NULL) {
        value = eq + 1;
      } else {
        if (i + 1 >= argc)
          return fs_err_set(err, FS_ECONFIG, "option '%s' needs a value", a);
        value = argv[++i];
      }
    } else {
      return fs_err_set(err, FS_ECONFIG,
                        "unexpected argument '%s' (options start with --)", a);
    }
    fs_status st = fs_config_set(cfg, keybuf, value, err);
    if (st != FS_OK)
      return st;
  }
  return FS_OK;
}

void fs_config_print_help(void *file) {
  FILE *f = file;
  fprintf(f,
          "Usage: fedsim [--config FILE.yaml] [--set section.key=value ...] "
          "[--section.key value ...]\n"
          "       mpirun -n P fedsim ...   (rank 0 is the server, ranks 1..P-1 "
          "host the virtual clients)\n"
          "       fedsim privacy --q Q --steps T (--sigma Z | --target-epsilon "
          "E) [--delta D] [--conversion classic|improved]\n"
          "                                 (epsilon of the sampled Gaussian "
          "mechanism, no simulation)\n"
          "       fedsim stragglers --scheme none|ignore|gc|sr-sgc|m-sgc --n N "
          "... (--help: straggler\n"
          "                                 schedulers on the virtual clock, "
          "no training; docs/stragglers.md)\n\n"
          "Options come from the built-in defaults, then the YAML file, then "
          "the command line (which wins).\n"
          "In YAML, each section is a mapping: 'local: {epochs: 2, lr: 0.1}'; "
          "nested keys such as\n"
          "data.synthetic.alpha are nested mappings. Lists: 'hidden: [256, "
          "128]' or --model.hidden 256,128.\n\n"
          "  -c, --config FILE       read options from a YAML file\n"
          "  -s, --set KEY=VALUE     set one option\n"
          "  -h, --help              this help\n"
          "      --version           version and build\n"
          "Short forms: ");
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    fprintf(f, "%s--%s (%s)", i ? ", " : "", aliases[i].flag, aliases[i].key);
  fprintf(f, "\n");
  const char *section = "";
  size_t sl = 0;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const opt *o = &options[i];
    const char *dot = strchr(o->key, '.');
    size_t l = (size_t)(dot - o->key);
    if (l != sl || strncmp(section, o->key, l) != 0) {
      fprintf(f, "\n[%.*s]\n", (int)l, o->key);
      section = o->key;
      sl = l;
    }
    const char *ty = "";
    char list[FS_CFG_STR];
    switch (o->type) {
    case T_INT:
    case T_UINT:
      ty = "int";
      break;
    case T_FLOAT:
      ty = "number";
      break;
    case T_STR:
      ty = "text";
      break;
    case T_BOOL:
      ty = "bool";
      break;
    case T_CHOICE:
    case T_TABLE:
      ty = opt_list(o, list, sizeof list);
      break;
    case T_LIST:
      ty = "list of int";
      break;
    case T_FLIST:
      ty = "list of numbers";
      break;
    }
    fprintf(f, "  --%-28s %s\n  %-30s   [%s; default: %s]\n", o->key, o->help,
            "", ty, o->def[0] ? o->def : "\"\"");
  }
}

void *fs_config_to_json(const fs_config *cfg) {
  cJSON *root = cJSON_CreateObject();
  for (size_t i = 0; i < N_OPTIONS && root != NULL; i++) {
    const opt *o = &options[i];
    /* Walk/create nested objects for every dot. */
    char key[FS_CFG_STR];
    snprintf(key, sizeof key, "%s", o->key);
    cJSON *obj = root;
    char *p = key;
    for (char *dot = strchr(p, '.'); dot; dot = strchr(p, '.')) {
      *dot = '\0';
      cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, p);
      if (child == NULL)
        child = cJSON_AddObjectToObject(obj, p);
      obj = child;
      p = dot + 1;
    }
    const char *base = (const char *)cfg + o->offset;
    switch (o->type) {
    case T_INT:
      cJSON_AddNumberToObject(obj, p,
                              (double)*(const int64_t *)(const void *)base);
      break;
    case T_UINT: {
      /* Seeds can exceed 2^53: keep them exact as text if so. */
      uint64_t u = *(const uint64_t *)(const void *)base;
      if (u < (1ull << 53))
        cJSON_AddNumberToObject(obj, p, (double)u);
      else {
        char b[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)u);
        cJSON_AddStringToObject(obj, p, b);
      }
      break;
    }
    case T_FLOAT:
      cJSON_AddNumberToObject(obj, p, *(const double *)(const void *)base);
      break;
    case T_BOOL:
      cJSON_AddBoolToObject(obj, p, *(const int *)(const void *)base);
      break;
    case T_STR:
      cJSON_AddStringToObject(obj, p, base);
      break;
    case T_CHOICE:
    case T_TABLE:
      cJSON_AddStringToObject(obj, p, opt_name(o, base));
      break;
    case T_FLIST: {
      const fs_cfg_flist *l = (const fs_cfg_flist *)(const void *)base;
      cJSON *arr = cJSON_AddArrayToObject(obj, p);
      for (size_t k = 0; k < l->n; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(l->v[k]));
      break;
    }
    case T_LIST: {
      cJSON *arr = cJSON_AddArrayToObject(obj, p);
      for (size_t k = 0; k < cfg->n_hidden; k++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)cfg->hidden[k]));
      break;
    }
    }
  }
  return root;
}
