// Placeholder while the Nacos gate controller is being built (issue 12); replaced by its real entry.
export async function runController(_options: Record<string, unknown>): Promise<void> {
  throw new Error('the controller subcommand is not built yet');
}
