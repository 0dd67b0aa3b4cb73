# Sourced by the benchmarks and CI's contract checks: they measure or fuzz the service,
# not its rate limits, so every class of caller gets RATE_LIMIT_MAX (src/config.rs).
# Scripts that start the server with `env -i` pass "${unlimited_rates[@]}"; the others
# inherit the exports.
unlimited_rates=(
  RATE_LIMIT_ANONYMOUS_PER_MINUTE=10000000
  RATE_LIMIT_ACCOUNT_PER_MINUTE=10000000
  RATE_LIMIT_CLIENT_PER_MINUTE=10000000
)
export "${unlimited_rates[@]}"
