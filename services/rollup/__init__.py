"""Rollup service: read models of the network's implementation data, per action, milestone,
strategy, plan, organization and period, aggregated per LEA and for the SEA, and per
practice and domain. (Waning progress and support cases come next.)"""
