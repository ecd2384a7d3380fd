/*
 * config_options.c — the option table: one row per option (key, type,
 * where it lives in fs_config, default, limits and help), and the tables
 * of the extension points that T_TABLE options name (fs_choice.h). --help,
 * the JSON echo and all the checks are driven by this one table, so adding
 * an option is one line (docs/architecture.md).
 */
#include "config_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(fs_config, f)
#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BIG 1e18

const fs_config__opt fs_config__options[] = {
    {"run.seed", FS_CONFIG__T_UINT, OFF(seed), "1", 0, BIG, NULL,
     "seed of every random stream (data, partition, sampling, init)"},
    {"run.rounds", FS_CONFIG__T_INT, OFF(rounds), "20", 1, 1e9, NULL,
     "aggregations (rounds) to run"},
    {"run.name", FS_CONFIG__T_STR, OFF(name), "fedsim", 0, 0, NULL,
     "name of the run, used in the run folder's name"},
    {"run.out_dir", FS_CONFIG__T_STR, OFF(out_dir), "", 0, 0, NULL,
     "run folder; empty: runs/<UTC date-time>-<name>"},
    {"run.progress", FS_CONFIG__T_CHOICE, OFF(progress), "auto", 0, 0,
     NAMES("auto", "on", "off"),
     "live progress line (auto: only on a terminal)"},
    {"run.time_budget", FS_CONFIG__T_FLOAT, OFF(time_budget), "0", 0, 1e15,
     NULL,
     "stop when the virtual clock would pass this many seconds (0: no "
     "budget; run.rounds still bounds the aggregations)"},
    {"run.clock", FS_CONFIG__T_CHOICE, OFF(clock), "virtual", 0, 0,
     NAMES("virtual", "wall"),
     "virtual: discrete-event clock, bit-identical for any rank count; "
     "wall: real arrival order and measured durations (for clusters; not "
     "reproducible by nature)"},
    {"run.save_model", FS_CONFIG__T_BOOL, OFF(save_model), "true", 0, 0, NULL,
     "write the final model to model.bin in the run folder"},
    {"run.checkpoint_every", FS_CONFIG__T_INT, OFF(checkpoint_every), "0", 0,
     1e9, NULL,
     "write a checkpoint every K aggregations into the run folder (0: only "
     "on SIGINT/SIGTERM; docs/reliability.md)"},
    {"run.checkpoint_keep", FS_CONFIG__T_INT, OFF(checkpoint_keep), "2", 0, 1e9,
     NULL, "complete checkpoints kept (older ones are deleted; 0: keep all)"},
    {"run.resume", FS_CONFIG__T_STR, OFF(resume), "", 0, 0, NULL,
     "continue the run in this folder from its last complete checkpoint "
     "(or from this checkpoint folder), bit-identically"},
    {"run.memory_limit", FS_CONFIG__T_FLOAT, OFF(memory_limit), "0", 0, 1e18,
     NULL,
     "bytes one rank may use (0: the machine's available memory); a run "
     "whose estimate exceeds it is refused before it starts"},

    {"data.source", FS_CONFIG__T_CHOICE, OFF(data_source), "synthetic", 0, 0,
     NAMES("synthetic", "fashion-mnist", "libsvm", "idx"),
     "where the data comes from"},
    {"data.path", FS_CONFIG__T_STR, OFF(data_path), "", 0, 0, NULL,
     "libsvm: training file; idx: training image file"},
    {"data.test_path", FS_CONFIG__T_STR, OFF(data_test_path), "", 0, 0, NULL,
     "libsvm: test file; idx: test image file (empty: split off "
     "data.test_fraction of the training rows)"},
    {"data.labels_path", FS_CONFIG__T_STR, OFF(data_labels_path), "", 0, 0,
     NULL, "idx: training label file"},
    {"data.test_labels_path", FS_CONFIG__T_STR, OFF(data_test_labels_path), "",
     0, 0, NULL, "idx: test label file"},
    {"data.dir", FS_CONFIG__T_STR, OFF(data_dir),
     "/usr/share/datasets/fashion-mnist", 0, 0, NULL,
     "fashion-mnist: folder of the four gzip IDX files"},
    {"data.test_fraction", FS_CONFIG__T_FLOAT, OFF(data_test_fraction), "0.2",
     0, 0.9, NULL,
     "share of rows held out for testing when there is no test file (0: "
     "test on the training rows)"},
    {"data.synthetic.alpha", FS_CONFIG__T_FLOAT, OFF(synth_alpha), "0.5", 0,
     100, NULL, "Synthetic(alpha, beta): how much the clients' models differ"},
    {"data.synthetic.beta", FS_CONFIG__T_FLOAT, OFF(synth_beta), "0.5", 0, 100,
     NULL, "Synthetic(alpha, beta): how much the clients' features differ"},
    {"data.synthetic.dim", FS_CONFIG__T_INT, OFF(synth_dim), "60", 1, 1e6, NULL,
     "features of the generated data"},
    {"data.synthetic.classes", FS_CONFIG__T_INT, OFF(synth_classes), "10", 2,
     1000, NULL, "classes of the generated data"},
    {"data.synthetic.groups", FS_CONFIG__T_INT, OFF(synth_groups), "100", 1,
     1e7, NULL, "natural groups (devices) of the generated data"},
    {"data.synthetic.samples", FS_CONFIG__T_INT, OFF(synth_samples), "20000",
     10, 1e9, NULL, "rows generated over all groups (train and test)"},

    {"partition.method", FS_CONFIG__T_TABLE, OFF(part_method), "auto", 0, 0,
     NULL,
     "how rows are split over clients (auto: natural for synthetic data, else "
     "iid)"},
    {"partition.alpha", FS_CONFIG__T_FLOAT, OFF(part_alpha), "0.5", 1e-6, 1e6,
     NULL, "Dirichlet concentration over labels (small: very skewed)"},
    {"partition.shards", FS_CONFIG__T_INT, OFF(part_shards), "2", 1, 1e6, NULL,
     "label-sorted shards per client"},

    {"clients.num", FS_CONFIG__T_INT, OFF(clients), "100", 1, 1e8, NULL,
     "virtual clients N"},
    {"clients.per_round", FS_CONFIG__T_INT, OFF(per_round), "10", 1, 1e8, NULL,
     "clients sampled per round (without replacement); with Poisson "
     "sampling, the expected number"},
    {"clients.sampling", FS_CONFIG__T_CHOICE, OFF(sampling), "fixed", 0, 0,
     NAMES("fixed", "poisson"),
     "fixed: exactly clients.per_round clients; poisson: each client "
     "independently with q = per_round/num (what the DP accountant assumes)"},
    {"clients.momentum", FS_CONFIG__T_FLOAT, OFF(client_momentum), "0", 0,
     0.999999, NULL,
     "local Polyak momentum on each client's update, kept across rounds: "
     "m_i = beta m_i + (1 - beta) u_i is sent (MoNNA; 0: off)"},

    {"local.mode", FS_CONFIG__T_TABLE, OFF(local_mode), "epochs", 0, 0, NULL,
     "local work: E epochs of minibatch SGD, S steps, one full gradient, or "
     "one minibatch gradient (EF21-SGD); fedprox, scaffold: "
     "docs/local-methods.md"},
    {"local.epochs", FS_CONFIG__T_INT, OFF(local_epochs), "1", 1, 1e6, NULL,
     "local epochs E"},
    {"local.steps", FS_CONFIG__T_INT, OFF(local_steps), "10", 1, 1e9, NULL,
     "local steps S (local.mode = steps)"},
    {"local.batch_size", FS_CONFIG__T_INT, OFF(local_batch), "32", 1, 1e7, NULL,
     "minibatch size"},
    {"local.lr", FS_CONFIG__T_FLOAT, OFF(local_lr), "0.05", 0, 1e6, NULL,
     "client learning rate"},
    {"local.prox_mu", FS_CONFIG__T_FLOAT, OFF(local_prox_mu), "0.01", 0, 1e6,
     NULL, "fedprox: mu of the proximal term (mu/2)||w - x0||^2"},

    {"server.strategy", FS_CONFIG__T_TABLE, OFF(strategy), "fedavg", 0, 0, NULL,
     "fedavg: synchronous rounds; async: each return aggregated alone; "
     "fedbuff: server.buffer returns at a time; fedfix: every "
     "server.fedfix_delta virtual seconds (all clients train at once); gc: "
     "distributed gradient descent with straggler mitigation (gc.*, "
     "docs/stragglers.md); scaffold: SCAFFOLD's synchronous rounds (with "
     "local.mode scaffold, docs/local-methods.md)"},
    {"server.buffer", FS_CONFIG__T_INT, OFF(buffer), "10", 1, 1e9, NULL,
     "fedbuff: returns per aggregation K"},
    {"server.fedfix_delta", FS_CONFIG__T_FLOAT, OFF(fedfix_delta), "0.5", 1e-9,
     1e12, NULL, "fedfix: aggregation period, virtual seconds"},
    {"server.staleness_exponent", FS_CONFIG__T_FLOAT, OFF(staleness_exponent),
     "0.5", 0, 100, NULL,
     "fedbuff: each update weighted by (1 + staleness)^-p"},
    {"server.max_staleness", FS_CONFIG__T_INT, OFF(max_staleness), "-1", -1,
     1e12, NULL,
     "async strategies: drop (and count) updates staler than this many "
     "versions; -1: never"},
    {"server.async_weights", FS_CONFIG__T_CHOICE, OFF(async_weights), "fraboni",
     0, 0, NAMES("fraboni", "plain"),
     "async strategies: d_i of Fraboni et al. (async (sum_j 1/tau_j) tau_i "
     "p_i, fedfix ceil(tau_i/delta) p_i, fedbuff 1/K), or 1"},
    {"server.optimizer", FS_CONFIG__T_TABLE, OFF(server_optimizer), "sgd", 0, 0,
     NULL, "server optimiser applied to the aggregated update (FedOpt)"},
    {"server.momentum", FS_CONFIG__T_FLOAT, OFF(server_momentum), "0.9", 0,
     0.999999, NULL, "momentum, and Adam's beta1"},
    {"server.beta2", FS_CONFIG__T_FLOAT, OFF(server_beta2), "0.99", 0, 0.999999,
     NULL, "Adam's beta2"},
    {"server.eps", FS_CONFIG__T_FLOAT, OFF(server_eps), "1e-8", 1e-15, 1, NULL,
     "Adam's epsilon"},
    {"server.weighting", FS_CONFIG__T_CHOICE, OFF(server_weighting), "samples",
     0, 0, NAMES("samples", "uniform"),
     "weight of each update: its client's number of rows, or equal"},
    {"server.lr", FS_CONFIG__T_FLOAT, OFF(server_lr), "1.0", 0, 1e6, NULL,
     "server learning rate (1 = plain FedAvg)"},
    {"server.aggregator", FS_CONFIG__T_CHOICE, OFF(aggregator), "fedavg", 0, 0,
     NAMES("fedavg", "mean", "median", "trimmed_mean", "krum", "multikrum",
           "nna", "monna"),
     "how a round's updates are combined: fedavg (weighted mean) or a robust "
     "rule on the separate updates (docs/robust.md)"},
    {"server.robust_f", FS_CONFIG__T_INT, OFF(robust_f), "0", 0, 1e8, NULL,
     "robust rules: updates per round assumed faulty (at most)"},
    {"server.multikrum_m", FS_CONFIG__T_INT, OFF(multikrum_m), "0", 0, 1e8,
     NULL, "multikrum: updates averaged (0: k - f)"},
    {"server.nna_pivot", FS_CONFIG__T_CHOICE, OFF(nna_pivot), "previous", 0, 0,
     NAMES("previous", "model", "own"),
     "nna, monna: keep the updates nearest to the previous aggregate, or to "
     "the zero update (the server's current model); own: peer-to-peer, every "
     "client keeps its own model and mixes around it (needs "
     "clients.per_round = clients.num)"},

    {"model.type", FS_CONFIG__T_TABLE, OFF(model_kind), "softmax", 0, 0, NULL,
     "model"},
    {"model.hidden", FS_CONFIG__T_LIST, OFF(hidden), "256,128", 1, 1e6, NULL,
     "MLP hidden layer widths"},
    {"model.bias", FS_CONFIG__T_BOOL, OFF(model_bias), "true", 0, 0, NULL,
     "layers have a bias"},
    {"model.l2", FS_CONFIG__T_FLOAT, OFF(model_l2), "0", 0, 1e6, NULL,
     "L2 regulariser (l2/2)*||w||^2"},
    {"model.nonconvex_lambda", FS_CONFIG__T_FLOAT, OFF(model_nonconvex), "0", 0,
     1e6, NULL,
     "non-convex regulariser lambda*sum w^2/(1+w^2) (EF21 objective)"},

    {"system.dist", FS_CONFIG__T_CHOICE, OFF(sys_dist), "lognormal", 0, 0,
     NAMES("constant", "uniform", "lognormal", "exponential", "fp"),
     "fp: Fraboni et al.'s F-P scenario, a job of client i lasts exactly "
     "1 - i P/(100(N-1)) seconds (no network time); others: "
     "how client speed, bandwidth and latency vary around their means"},
    {"system.fp", FS_CONFIG__T_FLOAT, OFF(sys_fp), "80", 0, 99, NULL,
     "P of the fp scenario (client 0 is the slowest)"},
    {"system.sleep_scale", FS_CONFIG__T_FLOAT, OFF(sys_sleep_scale), "0", 0,
     1e6, NULL,
     "workers really sleep for each job's simulated duration times this "
     "(minus the time the job took); the environment variable "
     "FEDSIM_SLEEP_FACTOR multiplies it on one host, to make that host slow"},
    {"system.dropout", FS_CONFIG__T_FLOAT, OFF(sys_dropout), "0", 0, 1, NULL,
     "probability that a client drops out of a job (it got the model, its "
     "update never comes; drawn from the seed per client and job)"},
    {"system.offline_fraction", FS_CONFIG__T_FLOAT, OFF(sys_offline_fraction),
     "0", 0, 0.99, NULL,
     "availability: each client is offline this share of every "
     "system.offline_period, from a phase drawn from the seed"},
    {"system.offline_period", FS_CONFIG__T_FLOAT, OFF(sys_offline_period), "10",
     1e-6, 1e12, NULL, "availability: the period, virtual seconds"},
    {"system.spread", FS_CONFIG__T_FLOAT, OFF(sys_spread), "0.5", 0, 10, NULL,
     "lognormal: sigma; uniform: values in mean*[1-spread, 1+spread]"},
    {"system.speed", FS_CONFIG__T_FLOAT, OFF(sys_speed), "5000", 1e-9, 1e15,
     NULL, "mean compute speed, samples per second"},
    {"system.bw_up", FS_CONFIG__T_FLOAT, OFF(sys_bw_up), "1e7", 1e-3, 1e15,
     NULL, "mean uplink bandwidth, bits per second"},
    {"system.bw_down", FS_CONFIG__T_FLOAT, OFF(sys_bw_down), "5e7", 1e-3, 1e15,
     NULL, "mean downlink bandwidth, bits per second"},
    {"system.latency", FS_CONFIG__T_FLOAT, OFF(sys_latency), "0.05", 0, 1e6,
     NULL, "mean one-way latency, seconds"},
    {"system.trace", FS_CONFIG__T_STR, OFF(sys_trace), "", 0, 0, NULL,
     "CSV of per-client profiles (client,speed,bw_up,bw_down,latency); "
     "overrides the distribution"},

    {"compress.up", FS_CONFIG__T_TABLE, OFF(comp_up), "identity", 0, 0, NULL,
     "uplink compressor applied to each client's update"},
    {"compress.up_k", FS_CONFIG__T_INT, OFF(comp_up_k), "0", 0, 1e9, NULL,
     "topk/randk: entries kept (0: use compress.up_ratio)"},
    {"compress.up_ratio", FS_CONFIG__T_FLOAT, OFF(comp_up_ratio), "0.01", 1e-9,
     1, NULL, "topk/randk: share of entries kept when compress.up_k is 0"},
    {"compress.levels", FS_CONFIG__T_INT, OFF(comp_levels), "16", 1, 127, NULL,
     "qsgd: quantisation levels s"},
    {"compress.block", FS_CONFIG__T_INT, OFF(comp_block), "256", 1, 1e9, NULL,
     "block8: block length"},
    {"compress.down", FS_CONFIG__T_TABLE, OFF(comp_down), "identity", 0, 0,
     NULL,
     "downlink compressor: other than identity, the server sends C(g - b) "
     "instead of the model (EF21-BC; needs ef21/ef21w and every client in "
     "every round)"},
    {"compress.down_k", FS_CONFIG__T_INT, OFF(comp_down_k), "0", 0, 1e9, NULL,
     "downlink topk/randk: entries kept (0: use compress.down_ratio)"},
    {"compress.down_ratio", FS_CONFIG__T_FLOAT, OFF(comp_down_ratio), "0.01",
     1e-9, 1, NULL,
     "downlink topk/randk: share of entries kept when compress.down_k "
     "is 0"},
    {"ef.method", FS_CONFIG__T_TABLE, OFF(ef_method), "none", 0, 0, NULL,
     "error feedback: none, classic EF (EF14), EF21, weighted EF21-W"},
    {"ef.stepsize", FS_CONFIG__T_CHOICE, OFF(ef_stepsize), "fixed", 0, 0,
     NAMES("fixed", "theory"),
     "theory: server.lr = ef.factor * the EF21 step size from L and L_i "
     "(logreg, full or stochastic gradients)"},
    {"ef.factor", FS_CONFIG__T_FLOAT, OFF(ef_factor), "1", 1e-9, 1e9, NULL,
     "multiplier on the theoretical step size"},
    {"ef.l_tilde", FS_CONFIG__T_CHOICE, OFF(ef_l_tilde), "qm", 0, 0,
     NAMES("qm", "am"),
     "L~ in the step size: quadratic mean of L_i (EF21) or arithmetic mean "
     "(Error Feedback Reloaded; always am for ef21w)"},

    {"dp.clip", FS_CONFIG__T_TABLE, OFF(dp_clip), "none", 0, 0, NULL,
     "client-level clipping of each update: flat L2 to dp.clip_norm; per "
     "layer (layer l to S sqrt(d_l/d)); DiceSGD-style clipping with error "
     "feedback (C1 = dp.clip_norm, C2 = dp.dice_ratio * C1)"},
    {"dp.clip_norm", FS_CONFIG__T_FLOAT, OFF(dp_clip_norm), "1", 1e-12, 1e12,
     NULL, "clipping bound S (C1 for dice)"},
    {"dp.dice_ratio", FS_CONFIG__T_FLOAT, OFF(dp_dice_ratio), "1", 0, 1e6, NULL,
     "dice: C2 / C1"},
    {"dp.noise", FS_CONFIG__T_CHOICE, OFF(dp_noise), "none", 0, 0,
     NAMES("none", "central", "local"),
     "Gaussian noise: central (the server adds N(0, (z B/(qN))^2) to the "
     "average, DP-FedAvg) or local (each client adds N(0, (z B)^2)); B the "
     "clipping bound of a message"},
    {"dp.noise_multiplier", FS_CONFIG__T_FLOAT, OFF(dp_z), "1", 0, 1e6, NULL,
     "z (ignored when dp.target_epsilon is set)"},
    {"dp.target_epsilon", FS_CONFIG__T_FLOAT, OFF(dp_target_eps), "0", 0, 1e6,
     NULL, "> 0: choose z before the run so that the run ends at this epsilon"},
    {"dp.delta", FS_CONFIG__T_FLOAT, OFF(dp_delta), "1e-5", 1e-300, 0.5, NULL,
     "delta of the (epsilon, delta) guarantee"},
    {"dp.conversion", FS_CONFIG__T_CHOICE, OFF(dp_conversion), "improved", 0, 0,
     NAMES("classic", "improved"),
     "RDP to (epsilon, delta): classic (Mironov 2017) or improved (Balle et "
     "al. 2020)"},
    {"secure.seal", FS_CONFIG__T_BOOL, OFF(secure_seal), "false", 0, 0, NULL,
     "authenticate and encrypt every frame (XChaCha20-Poly1305, crypto_kx "
     "keys; docs/sealed-frames.md): altered, replayed or forged frames are "
     "refused and counted (rejected_frames)"},
    {"secure.tamper_rate", FS_CONFIG__T_FLOAT, OFF(secure_tamper_rate), "0", 0,
     1, NULL,
     "test hook: fraction of uplink frames altered in flight (a byte "
     "flipped, forged or replayed; seeded); needs secure.seal"},

    {"faults.fraction", FS_CONFIG__T_FLOAT, OFF(fault_fraction), "0", 0, 1,
     NULL,
     "share of the clients that are faulty (a fixed set drawn from the seed)"},
    {"faults.kind", FS_CONFIG__T_CHOICE, OFF(fault_kind), "none", 0, 0,
     NAMES("none", "sign_flip", "scale", "noise", "label_flip", "nan", "inf"),
     "what faulty clients send: -u, faults.scale * u, Gaussian noise, the "
     "update of training on labels C-1-y, or NaN / Inf values"},
    {"faults.scale", FS_CONFIG__T_FLOAT, OFF(fault_scale), "10", -1e6, 1e6,
     NULL, "scale: the factor on a faulty client's update"},
    {"faults.noise_std", FS_CONFIG__T_FLOAT, OFF(fault_noise_std), "1", 0, 1e6,
     NULL, "noise: standard deviation of each sent coordinate"},
    {"secure.aggregation", FS_CONFIG__T_CHOICE, OFF(sa_mode), "none", 0, 0,
     NAMES("none", "secagg"),
     "secagg: pairwise-masked secure aggregation (Bonawitz et al. 2017, "
     "SecAgg+ neighbour graph): the server sees only masked Z_2^32 vectors "
     "(synchronous FedAvg, uncompressed uplink, no DP)"},
    {"secure.clip", FS_CONFIG__T_FLOAT, OFF(sa_clip), "1", 1e-30, 1e30, NULL,
     "secagg: each coordinate of a (weighted) update is clipped to [-c, c] "
     "before quantisation"},
    {"secure.bits", FS_CONFIG__T_INT, OFF(sa_bits), "16", 1, 31, NULL,
     "secagg: quantisation levels 2^bits; clients per round x 2^bits must "
     "stay below 2^32"},
    {"secure.degree", FS_CONFIG__T_INT, OFF(sa_degree), "0", 0, 1e8, NULL,
     "secagg: neighbours per client (0: the smallest even k >= 2 log2 n that "
     "survives secure.dropout with probability 1 - 1e-6; n - 1 or more: "
     "every pair, as in the original protocol)"},
    {"secure.dropout", FS_CONFIG__T_FLOAT, OFF(sa_dropout), "0", 0, 0.9, NULL,
     "secagg: each client drops with this probability after sending its "
     "shares, before its masked update (the server recovers its masks)"},

    {"eval.every", FS_CONFIG__T_INT, OFF(eval_every), "1", 1, 1e9, NULL,
     "evaluate every k rounds (and after the last)"},
    {"eval.objective", FS_CONFIG__T_CHOICE, OFF(eval_objective), "pooled", 0, 0,
     NAMES("pooled", "clients"),
     "train_loss and grad_norm_sq of the pooled rows, or of mean_i f_i "
     "(every client weighted equally, as in the EF21 papers)"},
    {"eval.targets", FS_CONFIG__T_FLIST, OFF(eval_targets), "", 0, 1, NULL,
     "test-accuracy targets: summary.json reports the bits per client at "
     "which each was first reached"},
    {"eval.grad_targets", FS_CONFIG__T_FLIST, OFF(eval_grad_targets), "", 0,
     1e300, NULL, "||grad f||^2 thresholds, reported like eval.targets"},
    {"eval.grad_norm", FS_CONFIG__T_CHOICE, OFF(eval_grad_norm), "auto", 0, 0,
     NAMES("auto", "on", "off"), "compute ||grad f(x)||^2 on the training set"},
    {"eval.grad_norm_max_dim", FS_CONFIG__T_INT, OFF(eval_grad_norm_max_dim),
     "20000", 0, 1e12, NULL,
     "auto: only for models with at most this many parameters"},

    {"gc.scheme", FS_CONFIG__T_CHOICE, OFF(gc_scheme), "cr", 0, 0,
     NAMES("none", "ignore", "fr", "cr", "sr-sgc", "m-sgc"),
     "straggler mitigation (server.strategy gc; clients.num workers): none "
     "waits for all; ignore takes the fastest n-s (biased); fr, cr: gradient "
     "coding (fractional, cyclic repetition); sr-sgc, m-sgc: sequential "
     "gradient coding"},
    {"gc.s", FS_CONFIG__T_INT, OFF(gc_s), "1", 0, 1e6, NULL,
     "stragglers tolerated per round (ignore, fr, cr)"},
    {"gc.B", FS_CONFIG__T_INT, OFF(gc_B), "1", 1, 4096, NULL,
     "sr-sgc, m-sgc: burst length B of the (B, W, lambda) model"},
    {"gc.W", FS_CONFIG__T_INT, OFF(gc_W), "2", 2, 4096, NULL,
     "sr-sgc, m-sgc: window W of the (B, W, lambda) model"},
    {"gc.lambda", FS_CONFIG__T_INT, OFF(gc_lambda), "1", 0, 1e6, NULL,
     "sr-sgc, m-sgc: stragglers per window lambda"},
    {"gc.code", FS_CONFIG__T_CHOICE, OFF(gc_code), "cr", 0, 0,
     NAMES("fr", "cr"), "sr-sgc, m-sgc: code of their coded parts"},
    {"gc.straggler", FS_CONFIG__T_CHOICE, OFF(gc_straggler), "iid", 0, 0,
     NAMES("none", "iid", "bursty", "exp", "pareto", "lognormal", "trace"),
     "straggler model: per-round slow-down factor of each worker"},
    {"gc.p", FS_CONFIG__T_FLOAT, OFF(gc_p), "0.1", 0, 1, NULL,
     "iid: straggle probability per worker and round; bursty: probability "
     "that a worker starts a burst"},
    {"gc.slowdown", FS_CONFIG__T_FLOAT, OFF(gc_slowdown), "5", 1e-9, 1e9, NULL,
     "iid, bursty: a straggler's slow-down factor"},
    {"gc.param", FS_CONFIG__T_FLOAT, OFF(gc_param), "1", 1e-9, 1e9, NULL,
     "exp: mean extra factor; pareto: shape; lognormal: sigma"},
    {"gc.straggler_B", FS_CONFIG__T_INT, OFF(gc_strag_B), "0", 0, 4096, NULL,
     "bursty model's B (0: gc.B)"},
    {"gc.straggler_W", FS_CONFIG__T_INT, OFF(gc_strag_W), "0", 0, 4096, NULL,
     "bursty model's W (0: gc.W)"},
    {"gc.straggler_lambda", FS_CONFIG__T_INT, OFF(gc_strag_lambda), "0", 0, 1e6,
     NULL, "bursty model's lambda (0: gc.lambda)"},
    {"gc.trace", FS_CONFIG__T_STR, OFF(gc_trace), "", 0, 0, NULL,
     "trace: CSV file round,worker,factor"},
    {"gc.models", FS_CONFIG__T_INT, OFF(gc_models), "1", 1, 64, NULL,
     "models trained concurrently (job t belongs to model t mod K; K >= T+1 "
     "keeps sr-sgc and m-sgc gradients fresh); metrics.csv evaluates model "
     "0"},
};
#define N_OPTIONS (sizeof fs_config__options / sizeof fs_config__options[0])
const size_t fs_config__n_options = N_OPTIONS;

/* The tables of the FS_CONFIG__T_TABLE options, registered by the driver
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

/* The table of a FS_CONFIG__T_TABLE option; a table not registered is a
 * programmer mistake (the driver registers every one). */
const fs_choice_set *fs_config__table_of(const char *key) {
  for (size_t i = 0; i < n_tables; i++)
    if (strcmp(tables[i].key, key) == 0)
      return &tables[i].set;
  fprintf(stderr,
          "fedsim: no table registered for %s (fs_app_register_tables)\n", key);
  abort();
}

static int table_index(const char *key, const char *v) {
  const fs_choice_set *t = fs_config__table_of(key);
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(fs_choice_at(t, i)->name, v) == 0)
      return (int)i;
  return -1;
}

static const char *table_name(const char *key, int i) {
  const fs_choice_set *t = fs_config__table_of(key);
  return i >= 0 && (size_t)i < t->n ? fs_choice_at(t, (size_t)i)->name : "?";
}

static const char *table_list(const char *key, char *buf, size_t len) {
  const fs_choice_set *t = fs_config__table_of(key);
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < t->n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "",
                             fs_choice_at(t, i)->name);
  return buf;
}

const fs_config__opt *fs_config__find_opt(const char *key) {
  for (size_t i = 0; i < N_OPTIONS; i++)
    if (strcmp(fs_config__options[i].key, key) == 0)
      return &fs_config__options[i];
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
int fs_config__opt_index(const fs_config__opt *o, const char *v) {
  return o->type == FS_CONFIG__T_TABLE ? table_index(o->key, v)
                                       : choice_index(o->names, v);
}
const char *fs_config__opt_name(const fs_config__opt *o, const char *base) {
  int i = *(const int *)(const void *)base; /* the enum, or the row index */
  return o->type == FS_CONFIG__T_TABLE ? table_name(o->key, i)
                                       : choice_name(o->names, i);
}
const char *fs_config__opt_list(const fs_config__opt *o, char *buf,
                                size_t len) {
  return o->type == FS_CONFIG__T_TABLE ? table_list(o->key, buf, len)
                                       : choice_list(o->names, buf, len);
}
