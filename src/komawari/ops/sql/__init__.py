"""The operator commands' raw SQL: rule fragments, evidence, repair, import, audit rows."""
