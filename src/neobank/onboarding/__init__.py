"""Self-service onboarding without a branch visit: the waiting room that admits people at the
pace the bank and its agencies can take, identity verification through the identity agency,
the 1-won account check through the clearing house, and the account opened at the end."""
