//! Which nodes of a DAG may start: all dependencies done. A failure skips
//! everything downstream of it, and only that.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

pub struct Scheduler {
    deps: Vec<Vec<usize>>,
    /// Ordering only: wait until these have finished, whatever their outcome.
    after: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    status: Vec<Status>,
}

impl Scheduler {
    /// `deps[i]` lists the nodes `i` waits for and fails with; `after[i]`
    /// the nodes `i` merely starts after, whatever their outcome.
    pub fn with_order(deps: Vec<Vec<usize>>, after: Vec<Vec<usize>>) -> Scheduler {
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let status = vec![Status::Waiting; deps.len()];
        Scheduler { deps, after, dependents, status }
    }

    /// Nodes whose dependencies are all done, marked running.
    pub fn take_ready(&mut self) -> Vec<usize> {
        let ready: Vec<usize> = (0..self.status.len())
            .filter(|&i| {
                self.status[i] == Status::Waiting
                    && self.deps[i].iter().all(|&d| self.status[d] == Status::Done)
                    && self.after[i]
                        .iter()
                        .all(|&d| matches!(self.status[d], Status::Done | Status::Failed | Status::Skipped))
            })
            .collect();
        for &i in &ready {
            self.status[i] = Status::Running;
        }
        ready
    }

    pub fn finish(&mut self, i: usize, ok: bool) {
        self.status[i] = if ok { Status::Done } else { Status::Failed };
        if !ok {
            let mut todo = self.dependents[i].clone();
            while let Some(j) = todo.pop() {
                if self.status[j] == Status::Waiting {
                    self.status[j] = Status::Skipped;
                    todo.extend(self.dependents[j].iter().copied());
                }
            }
        }
    }

    pub fn status(&self, i: usize) -> Status {
        self.status[i]
    }

    pub fn all_settled(&self) -> bool {
        self.status.iter().all(|s| !matches!(s, Status::Waiting | Status::Running))
    }

    /// Marks everything not started as skipped (after an interrupt).
    pub fn skip_waiting(&mut self) {
        for s in &mut self.status {
            if *s == Status::Waiting {
                *s = Status::Skipped;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_waits_for_any_outcome_without_inheriting_failure() {
        // 1 runs after 0 whatever 0's outcome.
        let mut s = Scheduler::with_order(vec![vec![], vec![]], vec![vec![], vec![0]]);
        assert_eq!(s.take_ready(), vec![0]);
        s.finish(0, false);
        assert_eq!(s.take_ready(), vec![1]);
    }

    #[test]
    fn failure_skips_only_dependents() {
        // 0 -> 1 -> 2, and 3 independent.
        let mut s = Scheduler::with_order(vec![vec![], vec![0], vec![1], vec![]], vec![vec![]; 4]);
        assert_eq!(s.take_ready(), vec![0, 3]);
        s.finish(0, false);
        s.finish(3, true);
        assert!(s.take_ready().is_empty());
        assert_eq!(s.status(1), Status::Skipped);
        assert_eq!(s.status(2), Status::Skipped);
        assert_eq!(s.status(3), Status::Done);
        assert!(s.all_settled());
    }
}
