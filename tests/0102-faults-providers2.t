#!/bin/sh
# The fault matrix (tests/faults/matrix.rows, engine in tests/faults/matrix.sh):
# Mandrill and the webhook, each fault on the send.
# Nothing lost unless its result says uncertain, nothing twice (raw
# deliveries), the failing stage and service named, a clean run after.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/faults/matrix.sh
. "$top/tests/faults/matrix.sh"

matrix_setup
matrix_provider mandrill
matrix_rows mandrill
matrix_provider webhook
matrix_rows webhook

no_secrets_printed
done_testing
