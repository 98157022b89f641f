"""Measure NUTS geometry on a model: leapfrog steps per draw and the adapted step size.

Usage (repository root; not part of the tests):

    .venv/bin/python benchmarks/nuts_geometry.py --model lipid_response --patients 100 \
        --warmup 300 --draws 100 [--dense]

One chain on a simulated cohort (seed 3). Steps per draw do not depend on the
machine's load, which makes them the figure to compare between model
variants; ``--dense`` adds the dense mass-matrix block over the population
parameters that `bayestwin.inference.fit` uses.
"""

from __future__ import annotations

import argparse

import numpyro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lipid_response", help="model file or built-in name")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--dense", action="store_true", help="dense block for population sites")
    args = parser.parse_args()
    numpyro.enable_x64()

    import jax
    from numpyro.infer import MCMC, NUTS

    from bayestwin.inference.fit import _dense_blocks
    from bayestwin.inference.init import data_start_values, init_to_median_jittered
    from bayestwin.model.assemble import build_model
    from bayestwin.model.design import build_design
    from bayestwin.simulate import simulate_cohort
    from bayestwin.spec import load_spec

    spec = load_spec(args.model)
    design = build_design(simulate_cohort(args.patients, seed=3).cohort, spec)
    bundle = build_model(spec, design)
    kernel = NUTS(bundle.model, target_accept_prob=spec.section("inference").target_accept,
                  max_tree_depth=spec.section("inference").max_tree_depth,
                  dense_mass=_dense_blocks(bundle) if args.dense else False,
                  init_strategy=init_to_median_jittered(values=data_start_values(design)))
    mcmc = MCMC(kernel, num_warmup=args.warmup, num_samples=args.draws, num_chains=1,
                progress_bar=False)
    mcmc.run(jax.random.PRNGKey(1), bundle.data,
             extra_fields=("num_steps", "diverging", "adapt_state.step_size"))
    extra = mcmc.get_extra_fields()
    print(f"{spec.name}: {args.patients} patients, dense={args.dense}: "
          f"leapfrog steps per draw mean {float(extra['num_steps'].mean()):.1f}, "
          f"max {int(extra['num_steps'].max())}, divergences {int(extra['diverging'].sum())}, "
          f"step size {float(extra['adapt_state.step_size'][-1]):.3f}")


if __name__ == "__main__":
    main()
