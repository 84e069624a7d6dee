"""Connected platform stores: one per shop/seller account, with its webhook secrets."""
