"""Measuring: metrics, intervals, paired tests, gates and baselines. No model calls.

The modules, from the results table to the verdict:

- :mod:`.metrics`: what each metric means and which way is better (the one ``METRICS`` table);
  light, so gates and reports can name metrics without pandas.
- :mod:`.results`: metrics, flips and per-case sums computed from a results table, and the
  intervals added to every metric.
- :mod:`.intervals`: the Wilson score interval (the one implementation) and the intervals a run
  reported.
- :mod:`.bootstrap`: the case-level (clustered) bootstrap, the one resampling engine, and the BCa
  interval; :mod:`.cluster_interval`: one run's ratio metric with cases as clusters (BCa, or the
  clustered Wilson interval when resampling shows no variation).
- :mod:`.margin`: the one paired test, a one-sided margin test of ``degradation <= allowance``
  (the t test on the case-clustered ratio linearization, or the exact McNemar test), its
  one-sided bound, and its power against the allowance.
- :mod:`.significance`: Holm's correction, and the level each gate of a family is decided at.
- :mod:`.power`: a gate's power as ``brittle power`` and the "underpowered" notes quote it.
- :mod:`.paired`: a run against its baseline on the same rows, behind the relative gates:
  passed, failed or inconclusive.
- :mod:`.gates`: the rules that decide the build; :mod:`.baseline`: the committed baselines;
  :mod:`.repeats`: ``k`` samples per row, reduced to one outcome.

Every statistic works on *per-case sums*: an array with one row per golden case and one column
per count (passes, variants, flips, pairs, ...). A metric is a function of the column totals
(``flips / pairs``), so resampling or swapping whole rows resamples or swaps whole cases, and the
variants of a case always move together. That is what "clustered by case" means here: the
variants of one case are not independent evidence, and treating them as such would make every
interval too narrow and every p-value too small.
"""
