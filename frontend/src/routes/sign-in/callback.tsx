import { createFileRoute } from "@tanstack/react-router"

import { ProviderCallback } from "@/features/sign-in/ProviderCallback"

/** Where the identity provider returns after the person signed in there. */
export const Route = createFileRoute("/sign-in/callback")({ component: ProviderCallback })
