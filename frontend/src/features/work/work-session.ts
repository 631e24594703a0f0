/**
 * The autosaving tasks of one enrolment page: one controller per editable task, a snapshot of
 * their states for the submit panel, and ``flushAll`` before submitting.
 */
import { AutosaveController, type AutosaveState, type SaveOutcome } from "./autosave"
import { type DraftStore, draftKey } from "./drafts"

export interface TaskSeed {
  id: string
  response: string | null
  version: number | null
  saved_at: string | null
}

export type Saver = (taskId: string, text: string, baseVersion: number) => Promise<SaveOutcome>

export class WorkSession {
  private readonly controllers = new Map<string, AutosaveController>()
  private readonly listeners = new Set<() => void>()
  private states: Record<string, AutosaveState> = {}

  constructor(enrolmentId: string, tasks: TaskSeed[], save: Saver, drafts: DraftStore) {
    for (const task of tasks) {
      const controller = new AutosaveController({
        key: draftKey(enrolmentId, task.id),
        initial: task,
        save: (text, base) => save(task.id, text, base),
        drafts,
        onChange: (state) => {
          this.states = { ...this.states, [task.id]: state }
          for (const listener of this.listeners) listener()
        },
      })
      this.controllers.set(task.id, controller)
      this.states[task.id] = controller.state
    }
  }

  task(taskId: string): AutosaveController | undefined {
    return this.controllers.get(taskId)
  }

  snapshot = (): Record<string, AutosaveState> => this.states

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  start(): void {
    for (const controller of this.controllers.values()) controller.start()
  }

  /** Save everything typed; resolves whether all of it is saved. */
  async flushAll(): Promise<boolean> {
    const results = await Promise.all([...this.controllers.values()].map((c) => c.flush()))
    return results.every(Boolean)
  }

  dispose(): void {
    for (const controller of this.controllers.values()) controller.dispose()
  }
}
