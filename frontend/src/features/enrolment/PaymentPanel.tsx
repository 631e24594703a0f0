import { Alert } from "@/components/ui/alert"
import { Button } from "@/components/ui/button"

import type { EnrolmentDetail } from "@/client"

/**
 * An enrolment awaiting a payment: "payment processing" once the member has paid (until the
 * payment's webhook arrives, or while a bank debit confirms), else the checkout to resume.
 */
export function PaymentPanel({
  enrolment,
  returned,
}: {
  enrolment: EnrolmentDetail
  returned: "complete" | "cancelled" | undefined
}) {
  const resubmission = enrolment.status === "awaiting_resubmission_payment"
  const purchase = resubmission ? "resubmission purchase" : "purchase"
  if (enrolment.payment_processing) {
    return (
      <Alert tone="info" role="status" heading="Payment processing">
        Your bank is confirming the payment, which can take some days. We hold your {purchase} until it confirms; you
        need not pay again.
      </Alert>
    )
  }
  if (returned === "complete") {
    return (
      <Alert tone="info" role="status" heading="Payment processing">
        Thank you. We are confirming your payment; this page updates by itself in a moment.
      </Alert>
    )
  }
  return (
    <Alert tone="warning" heading={resubmission ? "Complete your resubmission purchase" : "Complete your purchase"}>
      {returned === "cancelled" && <p className="mb-2">Checkout not completed: nothing was charged.</p>}
      {enrolment.checkout_url ? (
        <>
          <p>
            {resubmission
              ? "Pay the resubmission price to edit the sections that did not meet the standard and submit again."
              : "Pay for the micro-credential to start working on its tasks."}
          </p>
          <Button asChild className="mt-3">
            <a href={enrolment.checkout_url}>Go to checkout</a>
          </Button>
        </>
      ) : (
        <p>Opening your checkout…</p>
      )}
    </Alert>
  )
}
