r"""The driving trip San Francisco -> San Diego, ``pgkit/Driving-v0`` (Chapter 6)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from pgkit.envs.base import _EpisodicEnv
from pgkit.validation import check_finite, check_positive_int, check_seed, to_numpy

__all__ = ["DrivingEnv"]


class DrivingEnv(_EpisodicEnv):
    r"""Drive San Francisco -> San Jose -> Los Angeles -> San Diego; reward = hours (Chapter 6).

    States are the cities ``0 = SF, 1 = SJ, 2 = LA, 3 = SD`` (SD is terminal). There is nothing
    to decide: the single action 0 drives the next leg. Leg :math:`k` takes :math:`h_k` hours
    with expectations :math:`\mathbb E[h] = (1, 6, 1)` (SF->SJ, SJ->LA, LA->SD).

    Sign convention: the reward is the hours the leg took, counted *positively* (a cost), so a
    value is an expected number of hours: with :math:`\gamma = 1`

    .. math::

        V(s) = \mathbb E\Big[\sum_{k \ge s} h_k\Big] = \sum_{k \ge s} \mathbb E[h_k],
        \qquad V = (8, 7, 1, 0)\ \text{hours for (SF, SJ, LA, SD)},

    returned by :meth:`state_values`. A sampled trip of 2, 6, 2 hours gives the Monte Carlo
    estimate :math:`G_0 = 10` of :math:`V(\mathrm{SF}) = 8`; replay exactly that trip with
    ``env.reset(options={"leg_hours": [2, 6, 2]})``.

    Leg times are Gamma distributed with mean :math:`\mathbb E[h_k]` and standard deviation
    ``noise_std``, so they are never negative and their mean is exact (a clipped Gaussian would
    bias it). :meth:`leg_hours_distribution` gives the parameters and :meth:`sample_leg_hours`
    draws trips without running the environment.
    ``info`` holds ``city`` (the name of the city just reached, or of the start on reset).

    Parameters
    ----------
    expected_hours : array_like, shape (legs,), all > 0
        Mean hours of each leg. Default ``(1, 6, 1)``.
    noise_std : float or array_like of shape (legs,), >= 0
        Standard deviation of each leg's hours, a number or one per leg (default 0.5; 0 makes
        every trip take exactly the expected hours).
    cities : sequence of str, length legs + 1
        Distinct names of the stops, one more than the legs. Default ``("SF", "SJ", "LA", "SD")``.
    """

    def __init__(
        self,
        expected_hours: Any = (1.0, 6.0, 1.0),
        noise_std: Any = 0.5,
        cities: Any = ("SF", "SJ", "LA", "SD"),
    ) -> None:
        hours = to_numpy(expected_hours, "expected_hours", dtype=np.float64)
        if hours.ndim != 1 or hours.shape[0] < 1:
            raise ValueError(
                f"expected_hours must be a 1-D sequence with one mean per leg, got shape {hours.shape}"
            )
        check_finite("expected_hours", hours)
        if np.any(hours <= 0):
            raise ValueError(
                f"expected_hours must all be > 0 (hours per leg), got {hours.tolist()}"
            )
        std = to_numpy(noise_std, "noise_std", dtype=np.float64)
        if std.ndim == 0:
            std = np.full_like(hours, float(std))
        if std.shape != hours.shape:
            raise ValueError(
                f"noise_std must be a number or have one entry per leg {hours.shape}, got shape "
                f"{std.shape}"
            )
        check_finite("noise_std", std)
        if np.any(std < 0):
            raise ValueError(f"noise_std must be >= 0, got {std.tolist()}")
        cities = tuple(cities)
        if len(cities) != len(hours) + 1 or not all(isinstance(c, str) for c in cities):
            raise ValueError(
                f"cities must be {len(hours) + 1} names (one more than the {len(hours)} legs in "
                f"expected_hours), got {cities!r}"
            )
        if len(set(cities)) != len(cities):
            raise ValueError(f"cities must have distinct names, got {cities!r}")
        self.expected_hours = hours.copy()
        self.noise_std = std.copy()
        self.cities = cities
        self.observation_space = spaces.Discrete(len(cities))
        self.action_space = spaces.Discrete(1)
        self._trip: np.ndarray | None = None

    def state_values(self) -> np.ndarray:
        """Exact :math:`V(s)`: the expected hours still to drive from each city.

        Returns
        -------
        values : numpy.ndarray, shape (n_cities,)
        """
        return np.append(np.cumsum(self.expected_hours[::-1])[::-1], 0.0)

    def leg_hours_distribution(self) -> dict[str, np.ndarray]:
        r"""Leg :math:`k` takes :math:`h_k \sim \mathrm{Gamma}(\text{shape}_k, \text{scale}_k)` hours.

        :math:`\text{shape} = (\text{mean}/\text{std})^2` and
        :math:`\text{scale} = \text{std}^2/\text{mean}` give mean ``expected_hours`` and standard
        deviation ``noise_std``; a leg with std 0 always takes exactly its mean
        (:math:`\text{shape} = \infty`).

        Returns
        -------
        dict of str to numpy.ndarray, each of shape (legs,)
            ``"mean"``, ``"std"``, ``"shape"`` and ``"scale"``.
        """
        with np.errstate(divide="ignore"):
            shape = np.where(
                self.noise_std > 0, (self.expected_hours / self.noise_std) ** 2, np.inf
            )
        scale = self.noise_std**2 / self.expected_hours
        return {
            "mean": self.expected_hours.copy(),
            "std": self.noise_std.copy(),
            "shape": shape,
            "scale": scale,
        }

    def sample_leg_hours(self, n_trips: int = 1, seed: int | None = None) -> np.ndarray:
        """Draw ``n_trips`` trips from the environment's leg-time distribution.

        Parameters
        ----------
        n_trips : int >= 1
            Number of trips.
        seed : int or None
            Seed of a fresh ``numpy`` generator; the environment's own RNG is not used.

        Returns
        -------
        hours : numpy.ndarray, shape (n_trips, legs)
        """
        n_trips = check_positive_int("n_trips", n_trips)
        seed = check_seed("seed", seed, optional=True)
        return self._draw_hours(np.random.default_rng(seed), n_trips)

    def _draw_hours(self, rng: np.random.Generator, n_trips: int) -> np.ndarray:
        hours = np.broadcast_to(self.expected_hours, (n_trips, len(self.expected_hours))).copy()
        noisy = self.noise_std > 0
        if noisy.any():
            shape = (self.expected_hours[noisy] / self.noise_std[noisy]) ** 2
            scale = self.noise_std[noisy] ** 2 / self.expected_hours[noisy]
            hours[:, noisy] = rng.gamma(shape, scale, size=(n_trips, int(noisy.sum())))
        return hours

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed("seed", seed, optional=True))
        self._trip = None
        if options and "leg_hours" in options:
            trip = to_numpy(options["leg_hours"], "options['leg_hours']", dtype=np.float64)
            if trip.shape != self.expected_hours.shape:
                raise ValueError(
                    f"options['leg_hours'] must give one time per leg, shape "
                    f"{self.expected_hours.shape}, got shape {trip.shape}"
                )
            check_finite("options['leg_hours']", trip)
            if np.any(trip < 0):
                raise ValueError(f"options['leg_hours'] must be >= 0 hours, got {trip.tolist()}")
            self._trip = trip.copy()
        self._city = 0
        self._done = False
        return self._city, {"city": self.cities[0]}

    def step(self, action: Any):
        self._check_can_step()
        self._check_discrete_action(action)
        leg = self._city
        if self._trip is not None:
            hours = float(self._trip[leg])
        else:
            hours = float(self._draw_hours(self.np_random, 1)[0, leg])
        self._city += 1
        terminated = self._city == len(self.cities) - 1
        self._done = terminated
        return self._city, hours, terminated, False, {"city": self.cities[self._city]}
