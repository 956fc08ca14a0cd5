package synclayer

// Kept only until the connectors' branch of this refactor is merged; this
// file is deleted before the refactor lands.

// DefaultConcurrency is the default of [WithConcurrency].
const DefaultConcurrency = defaultConcurrency
