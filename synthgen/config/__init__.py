"""Typed schemas of every config group and the Hydra glue: locating the tree, resolvers, composing."""
