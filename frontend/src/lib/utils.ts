import { type ClassValue, clsx } from "clsx"
import { twMerge } from "tailwind-merge"

/** Class names, later Tailwind utilities winning over earlier ones. */
export function cn(...inputs: ClassValue[]): string {
  return twMerge(clsx(inputs))
}
