import { useEffect } from "react"

/** The browser tab's title, which screen readers announce when a page opens. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · microcred`
  }, [title])
}
