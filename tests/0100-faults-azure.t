#!/bin/sh
# The fault matrix (tests/faults/matrix.rows, engine in tests/faults/matrix.sh):
# Entra ID, Key Vault and Retail Server, each fault, with SendGrid sending.
# Nothing lost unless its result says uncertain, nothing twice (raw
# deliveries), the failing stage and service named, a clean run after.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/faults/matrix.sh
. "$top/tests/faults/matrix.sh"

matrix_setup
matrix_provider sendgrid
matrix_rows aad keyvault retail

no_secrets_printed
done_testing
