/* true — the smallest static program: measures the start-up and exit cost of
 * whatever runs it, with no work of its own. */
int main(void) { return 0; }
