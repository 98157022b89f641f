# Fit the classic joint model with rstanarm::stan_jm, the peer side of
# benchmarks/peer_rstanarm.py (which writes the input tables and reads the
# outputs; run that script, not this one).
#
# Usage:
#   Rscript peer_rstanarm.R LONG_CSV EVENT_CSV OUT_PREFIX CHAINS ITER SEED ADAPT_DELTA
#
# stan_jm warms up for ITER / 2 iterations and keeps the other half (it
# does not accept a separate warmup count).
#
# LONG_CSV has columns id, year, log_marker, male; EVENT_CSV has id, years,
# status (1 = endpoint event), female. The model matches
# bayestwin/models/joint_classic.toml:
#   log_marker ~ year * male + (year | id)          (Gaussian, identity link)
#   hazard ~ female + current value of the marker's linear predictor
#   (assoc = "etavalue"), B-spline log baseline hazard (basehaz = "bs"),
#   15-point Gauss-Kronrod nodes (stan_jm's qnodes = 15).
# Priors (no autoscaling, so that the scales are the same as bayestwin's):
#   fixed effects normal(0, 2.5), residual SD half-normal(0, 1), random-effect
#   SDs half-Student-t(30, 0, 1) (lkj() takes a Student-t; with 30 degrees of
#   freedom it is close to bayestwin's half-normal(0, 1)), LKJ(2) correlation,
#   event coefficient and association normal(0, 1), event intercept
#   normal(-3, 1.5). The B-spline
#   coefficients get independent normal(0, 3) priors, where bayestwin puts a
#   random-walk prior on them; stan_jm has no random-walk option.
#
# Outputs: OUT_PREFIX_summary.csv (one row per parameter: mean, sd, MCSE,
# bulk and tail ESS, R-hat, in rstan::monitor's definitions),
# OUT_PREFIX_draws.csv (draws of the population parameters) and
# OUT_PREFIX_timing.csv (wall seconds of stan_jm, and warmup and sampling
# seconds of the slowest chain from rstan::get_elapsed_time, divergences and
# the mean number of leapfrog steps per kept iteration).

suppressPackageStartupMessages({
  library(rstanarm)
  library(rstan)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 7) {
  stop("expected 7 arguments: LONG_CSV EVENT_CSV OUT_PREFIX CHAINS ITER SEED ADAPT_DELTA")
}
long <- read.csv(args[1])
event <- read.csv(args[2])
out_prefix <- args[3]
chains <- as.integer(args[4])
iter <- as.integer(args[5])
seed <- as.integer(args[6])
adapt_delta <- as.numeric(args[7])

started <- proc.time()[["elapsed"]]
fit <- stan_jm(
  formulaLong = log_marker ~ year * male + (year | id),
  dataLong = long,
  formulaEvent = survival::Surv(years, status) ~ female,
  dataEvent = event,
  time_var = "year",
  assoc = "etavalue",
  basehaz = "bs",
  qnodes = 15,
  priorLong = normal(0, 2.5, autoscale = FALSE),
  priorLong_intercept = normal(0, 2.5, autoscale = FALSE),
  priorLong_aux = normal(0, 1, autoscale = FALSE),
  priorEvent = normal(0, 1, autoscale = FALSE),
  priorEvent_intercept = normal(-3, 1.5, autoscale = FALSE),
  priorEvent_aux = normal(0, 3, autoscale = FALSE),
  priorEvent_assoc = normal(0, 1, autoscale = FALSE),
  prior_covariance = lkj(regularization = 2, scale = 1, df = 30, autoscale = FALSE),
  chains = chains, cores = chains, iter = iter, seed = seed,
  adapt_delta = adapt_delta, refresh = 0
)
wall <- proc.time()[["elapsed"]] - started

draws <- as.array(fit$stanfit)
summary <- rstan::monitor(draws, warmup = 0, print = FALSE)
table <- data.frame(
  parameter = rownames(summary), mean = summary[, "mean"], sd = summary[, "sd"],
  mcse = summary[, "se_mean"], ess_bulk = summary[, "Bulk_ESS"],
  ess_tail = summary[, "Tail_ESS"], rhat = summary[, "Rhat"]
)
write.csv(table, paste0(out_prefix, "_summary.csv"), row.names = FALSE)

# Draws of the population parameters, one row per chain and iteration.
keep <- grep("^(Long1\\||Event\\||Assoc\\||Sigma\\[)", dimnames(draws)[[3]], value = TRUE)
per_chain <- lapply(seq_len(dim(draws)[2]), function(chain) {
  values <- as.data.frame(matrix(draws[, chain, keep], ncol = length(keep)))
  names(values) <- keep
  cbind(chain = chain, draw = seq_len(nrow(values)), values)
})
write.csv(do.call(rbind, per_chain), paste0(out_prefix, "_draws.csv"), row.names = FALSE)

elapsed <- rstan::get_elapsed_time(fit$stanfit)
sampler <- rstan::get_sampler_params(fit$stanfit, inc_warmup = FALSE)
divergences <- sum(sapply(sampler, function(x) sum(x[, "divergent__"])))
leapfrog <- mean(sapply(sampler, function(x) mean(x[, "n_leapfrog__"])))
timing <- data.frame(
  wall_seconds = wall, warmup_seconds = max(elapsed[, "warmup"]),
  sampling_seconds = max(elapsed[, "sample"]), divergences = divergences,
  mean_leapfrog_steps = leapfrog,
  rstanarm_version = as.character(packageVersion("rstanarm")),
  rstan_version = as.character(packageVersion("rstan"))
)
write.csv(timing, paste0(out_prefix, "_timing.csv"), row.names = FALSE)
