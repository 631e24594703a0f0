import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Award } from "lucide-react";
import { useId } from "react";
import { toast } from "sonner";

import { errorMessage } from "@/api/errors";
import {
  getBadgeOptions,
  getBadgeQueryKey,
  setBadgeDisplayMutation,
} from "@/client/@tanstack/react-query.gen";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Checkbox, Label } from "@/components/ui/field";
import { formatDate } from "@/lib/format";

/** The earned badge: its public page, "Add to LinkedIn profile", and whether it shows the name. */
export function BadgePanel({ badgeUrl }: { badgeUrl: string }) {
  const badgeId = badgeUrl.split("/").pop() ?? "";
  const options = { path: { badge_id: badgeId } };
  const badge = useQuery(getBadgeOptions(options));
  const queryClient = useQueryClient();
  const display = useMutation({
    ...setBadgeDisplayMutation(),
    onSuccess: (result) => {
      queryClient.setQueryData(getBadgeQueryKey(options), (badge) =>
        badge
          ? {
              ...badge,
              show_name: result.show_name,
              earner_name: result.name,
              show_evidence: result.show_evidence,
            }
          : badge,
      );
      toast.success("Saved: the badge's pages show what you chose.");
    },
    onError: (error) => toast.error(errorMessage(error)),
  });
  const nameId = useId();
  const evidenceId = useId();
  const pending = display.isPending ? display.variables.body : undefined;
  const credential = badge.data?.credential as
    { validFrom?: string } | undefined;
  return (
    <Card aria-labelledby={`${nameId}-heading`} className="border-emerald-300">
      <div className="flex items-start gap-4">
        <Award className="size-10 shrink-0 text-emerald-700" aria-hidden />
        <div className="flex-1">
          <h2 id={`${nameId}-heading`} className="text-lg font-semibold">
            Your badge
          </h2>
          <p className="mt-1 text-slate-800">
            Approved: you earned this micro-credential
            {credential?.validFrom
              ? ` on ${formatDate(credential.validFrom)}`
              : ""}
            . Its Open Badges 3.0 credential is signed, so anyone can verify it.
          </p>
          {badge.isError && (
            <Alert tone="danger" className="mt-3">
              {errorMessage(badge.error)}
            </Alert>
          )}
          <div className="mt-4 flex flex-wrap gap-3">
            <Button asChild>
              <a href={badgeUrl}>View the badge's public page</a>
            </Button>
            {badge.data && (
              <Button asChild variant="secondary">
                <a
                  href={badge.data.linkedin_url}
                  target="_blank"
                  rel="noopener noreferrer"
                >
                  Add to LinkedIn profile
                  <span className="sr-only"> (opens in a new tab)</span>
                </a>
              </Button>
            )}
          </div>
          {badge.data && (
            <div className="mt-4 space-y-3">
              <div className="flex items-center gap-3">
                <Checkbox
                  id={nameId}
                  // Shown as chosen at once; the server's answer follows (and a failure undoes it).
                  checked={pending?.show_name ?? badge.data.show_name}
                  disabled={display.isPending}
                  onCheckedChange={(value) =>
                    display.mutate({
                      path: { badge_id: badgeId },
                      body: { show_name: value === true },
                    })
                  }
                />
                <Label htmlFor={nameId}>
                  Show my name on the badge's public page
                </Label>
              </div>
              <div className="flex items-center gap-3">
                <Checkbox
                  id={evidenceId}
                  checked={pending?.show_evidence ?? badge.data.show_evidence}
                  disabled={display.isPending}
                  onCheckedChange={(value) =>
                    display.mutate({
                      path: { badge_id: badgeId },
                      body: { show_evidence: value === true },
                    })
                  }
                />
                <Label htmlFor={evidenceId}>
                  Show my submitted work on the badge's evidence page (private
                  unless you tick this)
                </Label>
              </div>
            </div>
          )}
        </div>
      </div>
    </Card>
  );
}
