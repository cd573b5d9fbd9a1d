-- Licence activations: one row per (order, installation); a licence's seats bound how many.
CREATE TABLE activations (
    order_id TEXT NOT NULL,
    instance TEXT NOT NULL,
    created  INTEGER NOT NULL,
    PRIMARY KEY (order_id, instance)
);
