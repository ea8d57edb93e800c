"""The ledger: where every cent of the marketplace's money at Stripe went, in double entry.

Why it exists: Stripe tells us balances, not reasons. The ledger records each money movement Stripe
makes for us (a charge, a transfer to a seller, an application fee, a refund, a dispute, a payout)
as one transaction whose legs sum to zero in every currency, so that the platform's and each
seller's Stripe balance can be recomputed from our own records and compared with Stripe's, to the
cent, and so that revenue is a sum over entries rather than a counter someone forgot to bump.

Rules (each enforced where it cannot be bypassed):
- Amounts are integer minor units of a lowercase ISO currency (`marketplace.money`); a leg is
  signed, **debit positive, credit negative**.
- The legs of a transaction sum to zero per currency: `services.ledger_post` refuses an unbalanced
  posting on every database (the demo's SQLite included), and on Postgres a deferred constraint
  trigger refuses it again at commit, whatever code or SQL wrote it (migration 0002).
- Entries are immutable: Postgres refuses UPDATE and DELETE of transactions and legs. A mistake
  is corrected by a new, reversing transaction (`services.ledger_reverse`).
- A transaction is unique on its source (a Stripe object id + a kind), so a redelivered or
  replayed webhook never posts twice.
- Balances and reports are computed from legs (`selectors`), never kept as mutable totals.

Chart of accounts (`chart.py`). The ledger covers the money at Stripe of the platform *and* of every
connected account, so some accounts exist once per Stripe account, created on first use and keyed
by the Stripe account id ("" is the platform):

=========================  ============================================  ===============  ========
code                       name                                          kind             normal
=========================  ============================================  ===============  ========
stripe_balance             Stripe balance — platform                     asset            debit
stripe_balance             Stripe balance — seller acct_…                asset            debit
bank_payouts               Bank payouts — platform / — seller acct_…     asset            debit
buyer_payments             Payments from buyers                          revenue          credit
buyer_refunds              Refunds to buyers                             contra-revenue   debit
seller_application_fees    Application fees paid — seller acct_…         contra-revenue   debit
application_fees           Application fees                              revenue          credit
application_fee_refunds    Application fee refunds                       contra-revenue   debit
stripe_fees                Stripe processing fees                        expense          debit
disputed_funds             Funds held for open disputes                  asset            debit
dispute_losses             Dispute losses                                expense          debit
dispute_recoveries         Dispute losses recovered from sellers         contra-expense   credit
seller_dispute_losses      Lost disputes taken back — seller acct_…      contra-revenue   debit
dispute_fees               Dispute fees                                  expense          debit
=========================  ============================================  ===============  ========

- *Payments from buyers* is the money in: the sellers' gross sales (GMV), reduced by *Refunds to
  buyers* and by what each seller paid the platform (*Application fees paid — seller*).
- *Application fees* is the platform's own revenue; with *Application fee refunds*, *Stripe
  processing fees*, *Dispute losses* (less *Dispute losses recovered from sellers*, which the
  seller's side books as *Lost disputes taken back*) and *Dispute fees* it makes the platform's
  result.
- *Funds held for open disputes* is what Stripe withdrew for a dispute that is still open: no
  longer in the Stripe balance, not lost either. A won dispute brings it back to the balance, a
  lost one turns it into a *Dispute loss*.
- *Bank payouts* is the money out: what Stripe paid to the owner's bank account. It is still the
  owner's, no longer at Stripe, hence an asset next to the Stripe balance.
- The application fee is posted on both sides (revenue for the platform, a deduction from the
  seller's sales), so that both the platform's and each seller's figures are account balances.

`flows.py` builds the legs of each Stripe money movement (a destination charge is three postings:
the charge with its processing fee, the transfer, the application fee), with the worked examples of
`tests/ledger/test_worked_examples.py`.
"""
