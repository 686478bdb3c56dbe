"""Import errors that name the row and the problem."""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import DomainError


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # 1-based data row; None for file-level problems
    field: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message} ({self.code})"


class ImportRejected(DomainError, ValueError):
    """The file was rejected; nothing was written. `field` is the first problem's."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__("invalid", "import.rejected", f"import rejected, nothing written:\n{shown}{more}",
                         f"导入被拒绝，未写入任何数据（共{len(problems)}处错误）", problems[0].field if problems else None)
