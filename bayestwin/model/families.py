r"""Patients' LDL-C levels within families: family effect integrated out.

Relatives share a family effect :math:`f_F \sim N(0, \sigma_f^2)` and, in
familial hypercholesterolaemia, the family's variant. Given the family's
variant class :math:`c`, the levels of the :math:`n_F` patients of family
:math:`F` are jointly normal,

.. math::

    w_F \mid c \sim N\big(m_F(c),\; \sigma_u^2 I + \sigma_f^2 \mathbf{1}\mathbf{1}^\top\big),

with :math:`m_{F,i}(c)` the patient's mean under class :math:`c` (a genotyped
patient's mean does not depend on :math:`c`). Patients never genotyped share
the family's class, which is marginalised with one weight per family and
class, so that the density of a family is a mixture of at most as many
normals as there are classes. Integrating :math:`f_F` out removes one latent
per family and the funnel between the family effects and :math:`\sigma_f`;
NUTS then moves :math:`\sigma_u` and :math:`\sigma_f` through the within-family
correlation of the levels alone.

The compound-symmetric covariance has closed forms: with :math:`S_1` and
:math:`S_2` the sum and the sum of squares of the residuals in a family and
:math:`t_F = \sigma_u^2 + n_F \sigma_f^2`,

.. math::

    \log\det\Sigma_F = (n_F - 1)\log\sigma_u^2 + \log t_F, \qquad
    r^\top \Sigma_F^{-1} r = \big(S_2 - \sigma_f^2 S_1^2 / t_F\big) / \sigma_u^2,

and the symmetric square root
:math:`\Sigma_F^{1/2} = \sigma_u (I - P_F) + \sqrt{t_F}\, P_F`, where
:math:`P_F` averages over the family, gives the non-centred form.

Family effects are not sampled. `draw_family_effects` draws them after the
fit from their exact conditional posterior: the class from the mixture's
responsibilities, then a normal given the class. Twins of new relatives of
patients in the fit use these draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from numpyro.distributions import constraints


@dataclass(frozen=True)
class FamilyStructure:
    """Family index of each patient, as a JAX array so that it can be traced."""

    family: jnp.ndarray  # (n,) family index of each patient
    n_families: int

    @property
    def sizes(self):
        """Patients per family, (F,)."""
        return self.sum(jnp.ones(self.family.shape[0]))

    @property
    def first_member(self):
        """Whether each patient is the first of its family, (n,)."""
        order = jnp.arange(self.family.shape[0])
        first = jax.ops.segment_min(order, self.family, self.n_families)
        return order == first[self.family]

    def sum(self, values):
        """Sum `values` (patients first) within each family."""
        return jax.ops.segment_sum(values, self.family, self.n_families)


def family_class_weights(variant_index, structure: FamilyStructure, prior):
    """Return the weights of each family's class for its members never genotyped, (F, K).

    A family whose genotyped members share one class passes it to the members
    never genotyped. Several classes among the genotyped members share the
    weight by their counts, and a family with no genotyped member gets the prior.
    """
    prior = jnp.asarray(prior) / jnp.sum(jnp.asarray(prior))
    variant_index = jnp.asarray(variant_index)
    tested = variant_index >= 0
    one_hot = jax.nn.one_hot(jnp.clip(variant_index, 0, None), prior.shape[0])
    counts = structure.sum(one_hot * tested[:, None])
    totals = counts.sum(axis=1, keepdims=True)
    return jnp.where(totals > 0, counts / jnp.maximum(totals, 1.0), prior[None, :])


def class_locations(centre, variant_index, class_effects):
    """Return each patient's mean under each family class, (n, K).

    A genotyped patient's mean uses its own class in every column; a patient
    never genotyped (index -1) takes the column's class.
    """
    variant_index = jnp.asarray(variant_index)
    own = class_effects[jnp.clip(variant_index, 0, None)]
    effect = jnp.where((variant_index >= 0)[:, None], own[:, None], class_effects[None, :])
    return centre[:, None] + effect


def family_log_densities(value, locations, structure: FamilyStructure, spread, family_spread):
    """Return the log density of each family's levels under each class, (F, K)."""
    residual = value[:, None] - locations
    s1 = structure.sum(residual)
    s2 = structure.sum(residual ** 2)
    sizes = structure.sizes
    a2 = spread ** 2
    b2 = family_spread ** 2
    total = a2 + sizes * b2
    quadratic = (s2 - b2 * s1 ** 2 / total[:, None]) / a2
    log_det = (sizes - 1.0) * jnp.log(a2) + jnp.log(total)
    return -0.5 * (sizes[:, None] * math.log(2.0 * math.pi) + log_det[:, None] + quadratic)


class FamilyLevels(dist.Distribution):
    """Levels of all patients, correlated within families, with one class per family.

    ``locations`` (n, K) is each patient's mean under each family class and
    ``log_weights`` (F, K) the log weights of the classes. The batch shape is
    the patients, and the per-patient terms sum to the joint density (see
    `log_prob` for how a family's density is shared out).
    """

    arg_constraints = {"spread": constraints.positive,
                       "family_spread": constraints.nonnegative}
    support = constraints.real
    reparametrized_params = []

    def __init__(self, locations, log_weights, structure: FamilyStructure, spread,
                 family_spread=0.0, *, validate_args=None):
        self.locations = locations
        self.log_weights = log_weights
        self.structure = structure
        self.spread = spread
        self.family_spread = family_spread
        super().__init__(batch_shape=(structure.family.shape[0],), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        """Draw a class and an effect per family, then each patient's level."""
        if sample_shape:
            keys = jax.random.split(key, math.prod(sample_shape))
            draws = jax.vmap(self.sample)(keys)
            return draws.reshape(sample_shape + self.batch_shape)
        key_class, key_family, key_patient = jax.random.split(key, 3)
        family = self.structure.family
        classes = jax.random.categorical(key_class, self.log_weights)
        effects = self.family_spread * jax.random.normal(key_family, (self.structure.n_families,))
        n = family.shape[0]
        mean = self.locations[jnp.arange(n), classes[family]]
        return mean + effects[family] + self.spread * jax.random.normal(key_patient, (n,))

    def log_prob(self, value):
        """Return the per-patient share of the families' log densities.

        Without a family effect (``family_spread`` a literal 0), each patient
        gets its own normal term under the family's most probable class, and
        the family's first member gets the rest of the mixture. The rest is
        exactly zero, with a zero gradient, in a family whose class is known,
        so the patients' terms then split by patient.

        The rest is the log mixture of each class's density ratio to the
        likeliest class, summed from per-patient differences. Far from the
        mode the two family densities reach -1e21, so their difference would
        keep a rounding error of 1e6 that depends on the relatives' levels.
        """
        family = self.structure.family
        if not (isinstance(self.family_spread, (int, float)) and self.family_spread == 0):
            terms = family_log_densities(value, self.locations, self.structure, self.spread,
                                         self.family_spread)
            per_family = jax.nn.logsumexp(terms + self.log_weights, axis=-1)
            return jnp.where(self.structure.first_member, per_family[family], 0.0)
        likeliest = jnp.argmax(self.log_weights, axis=-1)[family]
        mean = jnp.take_along_axis(self.locations, likeliest[:, None], axis=1)[:, 0]
        own = dist.Normal(mean, self.spread).log_prob(value)
        # log N(w | l_c, s) - log N(w | m, s) = (l_c - m)(2w - l_c - m) / (2 s^2), exactly zero
        # where the class does not move the patient's mean (l_c = m).
        gap = self.locations - mean[:, None]
        ratio = -gap * (gap - 2.0 * (value - mean)[:, None]) / (2.0 * self.spread ** 2)
        rest = jax.nn.logsumexp(self.log_weights + self.structure.sum(ratio), axis=-1)
        return own + jnp.where(self.structure.first_member, rest[family], 0.0)


def _family_means_and_scales(values, structure: FamilyStructure, spread, family_spread):
    """Return each patient's family mean of `values` and sqrt(t_F), both patients first."""
    sizes = structure.sizes
    mean = (structure.sum(values).T / sizes).T[structure.family]
    total = jnp.sqrt(spread ** 2 + sizes * family_spread ** 2)[structure.family]
    if values.ndim > 1:
        total = total[:, None]
    return mean, total


def standardise(deviation, structure: FamilyStructure, spread, family_spread):
    r"""Return :math:`\Sigma_F^{-1/2}` times `deviation` (patients first), family by family."""
    mean, total = _family_means_and_scales(deviation, structure, spread, family_spread)
    return (deviation - mean) / spread + mean / total


def unstandardise(standard, structure: FamilyStructure, spread, family_spread):
    r"""Return :math:`\Sigma_F^{1/2}` times `standard`, the inverse of `standardise`."""
    mean, total = _family_means_and_scales(standard, structure, spread, family_spread)
    return spread * (standard - mean) + total * mean


def draw_family_effects(key, level, locations, log_weights, structure: FamilyStructure,
                        spread, family_spread):
    """Draw each family's effect from its conditional posterior given the levels.

    The class is drawn from its posterior responsibilities, then the effect
    from the normal N(sigma_f^2 S_1 / t_F, sigma_u^2 sigma_f^2 / t_F), with
    S_1 the sum of the family's residuals under that class.
    """
    terms = family_log_densities(level, locations, structure, spread, family_spread)
    key_class, key_effect = jax.random.split(key)
    classes = jax.random.categorical(key_class, terms + log_weights)
    s1 = structure.sum(level[:, None] - locations)
    s1 = jnp.take_along_axis(s1, classes[:, None], axis=1)[:, 0]
    sizes = structure.sizes
    total = spread ** 2 + sizes * family_spread ** 2
    mean = family_spread ** 2 * s1 / total
    sd = spread * family_spread / jnp.sqrt(total)
    return mean + sd * jax.random.normal(key_effect, mean.shape)
