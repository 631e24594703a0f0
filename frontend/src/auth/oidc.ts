/**
 * Signing in with the organisation's identity provider: OpenID Connect, authorization code
 * with PKCE, by oidc-client-ts. Loaded only when used, so dev deployments never download it.
 */
import type { AuthConfig } from "@/client"

import { saveSession, sessionFromToken } from "./session"

type Provider = NonNullable<AuthConfig["oidc"]>

async function userManager(provider: Provider) {
  const { UserManager, WebStorageStateStore } = await import("oidc-client-ts")
  return new UserManager({
    authority: provider.issuer,
    client_id: provider.client_id,
    redirect_uri: `${window.location.origin}/sign-in/callback`,
    post_logout_redirect_uri: `${window.location.origin}/sign-in`,
    response_type: "code",
    scope: provider.scope,
    userStore: new WebStorageStateStore({ store: window.localStorage }),
  })
}

/** Off to the provider; it returns to /sign-in/callback, which then opens ``redirect``. */
export async function signInWithProvider(provider: Provider, redirect: string): Promise<void> {
  const manager = await userManager(provider)
  await manager.signinRedirect({ state: { redirect } })
}

/** Finish the sign-in the provider returned from; the page to open next. */
export async function completeSignIn(provider: Provider): Promise<string> {
  const manager = await userManager(provider)
  const user = await manager.signinRedirectCallback()
  const token = provider.bearer === "access_token" ? user.access_token : user.id_token
  if (!token) throw new Error("The identity provider returned no token.")
  saveSession(sessionFromToken(token, "oidc"))
  const state = user.state as { redirect?: string } | undefined
  return state?.redirect ?? "/"
}

export async function forgetProviderUser(provider: Provider): Promise<void> {
  const manager = await userManager(provider)
  await manager.removeUser()
}
